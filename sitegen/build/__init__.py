"""The pipeline around the stages, and what makes it fast.

- pipeline.py: `build`, `build_files`, `load_model`, `load_site` (the whole flow on one screen)
- memo.py: `Memo`, the one layer that owns cache keys, fingerprints, jobs and progress
- cache.py: `BuildCache` (.sitegen-cache/); digest.py: `Fingerprints`, `code_version`
- inputs.py: `load_inputs`, `inputs_digest` (the no-change fast path); parallel.py: `map_items`
- command.py: `sitegen build`
"""
