"""`sitegen serve`: build into memory through the same pipeline, serve it, reload on save.

- server.py: the HTTP server and the command; site.py: `DevSite`, the last good build
- watch.py: watchdog and the debouncer; livereload.py: the script added to served pages
"""
