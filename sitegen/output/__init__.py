"""Stage 5, write: the only code that touches output/.

- write.py: `write_output` (atomic swap, unchanged files keep their inode), `write_tracked`
  (the same, cheap to repeat, with output records), `up_to_date`, `output_lock`
- stats.py: `unchanged_since`, whether a written tree still has its recorded stats (light:
  the no-change stamp asks it before anything else is imported)
- published.py: the URLs a built site publishes, and `gone_urls`, the ones a new build drops
"""
