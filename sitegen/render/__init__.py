"""Stage 4, render: a `Site` to files in memory (bytes); it writes nothing to output/.

- routes.py: `site_routes(site)` -> every `Route` (destination, template, context, source, lastmod)
- pages.py: `render_route`, `assemble`; templating.py: the Jinja2 environment; head.py: CSP, JSON-LD
- feeds.py, sitemap.py: Atom feeds, sitemap.xml and robots.txt
- email.py, plaintext.py: each newsletter issue as email.html, email.txt and message.eml
- search.py, search_stable.py: `search_index(files, language)`, Pagefind's index, byte-stable
- files.py: `Route`, `RenderedFile`, `StoredFile` (what the stage takes and makes)
- images.py: `probe`, `upright`, `encode`, `crop`: an image file's facts and copies, bytes -> bytes
- pictures.py: `plan` (each image's copies), `Picture` and the markup pages and emails show
- redirects.py: alias pages at old URLs, the redirect maps and `.sitegen/pages.json` (the URLs)
- assets.py: `hash_theme_assets`, the theme's CSS and JS under content-hashed names
"""
