"""rsync a built site into a new release, or list what a deploy would change.

Files whose bytes did not change since the live release are hard links to its files
(`--link-dest`), so a release costs only the space and the transfer of what changed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sitegen.deploy.target import DeployError, Shell, die_with_parent

# Readable by the web server whatever the local umask; a file's time is kept (Last-Modified).
_RSYNC = ["rsync", "--recursive", "--links", "--times", "--checksum", "--chmod=D755,F644"]

Progress = Callable[[int], None]
INSTALL = "sudo apt install rsync"


@dataclass
class Changes:
    """What a deploy changes compared with the live release."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def upload(
    shell: Shell,
    site: Path,
    partial: str,
    link_dest: str | None,
    bandwidth_limit: int = 0,
    progress: Progress | None = None,
) -> int:
    """Copy `site` into releases/`partial`; the number of files transferred."""
    options = [*_RSYNC, "--itemize-changes", *shell.rsync_shell()]
    if link_dest:
        options.append(f"--link-dest=../{link_dest}")
    if bandwidth_limit:
        options.append(f"--bwlimit={bandwidth_limit}")
    command = [*options, f"{site}/", shell.target.rsync_path(f"releases/{partial}/")]
    sent = 0
    # rsync's messages go to a file: a pipe read only at the end could fill up and stall it.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as messages:
        try:
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=messages,
                stdin=subprocess.DEVNULL,
                text=True,
                preexec_fn=die_with_parent,
            )
        except OSError as exc:
            raise DeployError(f"cannot run rsync ({exc.strerror}); install it: {INSTALL}") from exc
        with process:
            assert process.stdout is not None
            for line in process.stdout:
                if line[:2] in (">f", "<f"):
                    sent += 1
                    if progress:
                        progress(sent)
        messages.seek(0)
        stderr = messages.read()
    if process.returncode != 0:
        raise DeployError(shell.explain(process.returncode, stderr))
    return sent


def changes(shell: Shell, site: Path, has_live: bool) -> Changes:
    """What deploying `site` would add, change and remove (rsync's dry run against current/)."""
    found = Changes()
    if not has_live:
        found.added = sorted(
            path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file()
        )
        return found
    command = [
        *_RSYNC,
        "--dry-run",
        "--itemize-changes",
        "--delete",
        *shell.rsync_shell(),
        f"{site}/",
        shell.target.rsync_path("current/"),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, preexec_fn=die_with_parent
        )
    except OSError as exc:
        raise DeployError(f"cannot run rsync ({exc.strerror}); install it: {INSTALL}") from exc
    if done.returncode != 0:
        raise DeployError(shell.explain(done.returncode, done.stderr))
    for line in done.stdout.splitlines():
        code, _, path = line.partition(" ")
        path = path.strip()
        if path.endswith("/"):
            continue  # folders follow from their files
        if code == "*deleting":
            found.removed.append(path)
        elif code.startswith((">f", "<f")):
            (found.added if "+++++++" in code else found.changed).append(path)
    return found


class UploadLine:
    """'Uploading: N files' on a terminal; silent when output is piped."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    def __call__(self, sent: int) -> None:
        if self.enabled and (sent < 10 or sent % 25 == 0):
            print(f"\rUploading: {sent} files", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(file=sys.stderr)
