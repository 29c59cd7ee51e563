"""`sitegen check`: the build's errors without writing output/, plus editorial warnings.

- command.py: the command; editorial.py: warnings; external.py: the external link check
- images.py: warnings about images too small, too large or shown far below their size
"""
