"""`sitegen check`: the build's errors without writing output/, plus editorial warnings.

- command.py: the command; editorial.py: warnings; external.py: the external link check
"""
