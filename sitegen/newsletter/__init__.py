"""Sending the newsletter: the email itself is made by render/email.py.

- send.py: `sitegen newsletter send` (dry run, --send, --test-to)
- preflight.py: what must be right before sending, each problem at the file or setting to change
- sendlog.py: the fsynced send log; smtp.py: one connection
- the recipients come from the subscribers database or a CSV file (sitegen/subscribers/)
"""
