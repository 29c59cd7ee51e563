"""Stages 1-3, load -> parse -> model: from the files in content/ to a frozen `Site`.

- load.py: `load_sources`, `load_static` (the only code that reads content)
- parse.py: `parse_source` -> `ParsedDoc` (front matter with the file line of every key)
- markdown.py, markdown_features.py, typography.py: `MarkdownRenderer` (Danish ids and typography)
- fields.py: the front matter schemas of cases, pages and newsletter issues
- model.py: `Case`, `CaseCard`, `Page`, `NewsletterIssue`, `Taxonomy`, `Site` (plain data)
- links.py: `LinkResolver` (file references to site URLs); slugs.py: `slugify`
- images.py: `document_images`, the image files each document shows (and where images go)
- site.py: `build_site(docs, config, options, asset_urls, errors) -> Site`; issues.py: the issues
"""
