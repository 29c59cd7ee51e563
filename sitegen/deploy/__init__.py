"""`sitegen deploy`: publish output/ as a new release and switch to it atomically.

- target.py: `Target` (a local folder or `user@host:/path`) and `Shell`, which runs a POSIX
  shell script there, locally or over SSH, turning faults into one-line `DeployError`s
- releases.py: the deploy folder (`releases/<id>/`, the `current` symlink): probe, set up,
  switch, roll back, prune
- lock.py: `deploy_lock`, one deploy to a folder at a time
- upload.py: rsync a built site into a new release (unchanged files hard-linked), or list
  what a deploy would add, change and remove
- guard.py: refuse to break a published URL
- command.py: `sitegen deploy`
"""
