"""The newsletter's subscribers: the one thing a static site cannot do, as a small service.

- app.py: the service (Starlette): signup with double opt-in, confirmation, one-click unsubscribe
- pages.py: its pages, rendered with the site's own templates and CSP
- store.py: SQLite (WAL, versioned schema): signups, consent records, the suppression list
- tokens.py: HMAC-signed confirmation and unsubscribe tokens, form stamps, suppression keys
- mail.py: the Danish confirmation mail and its SMTP session
- recipients.py: a list of recipients in a CSV file (a send's or an import's)
- command.py: `sitegen subscribers serve|list|export|import|remove`
"""
