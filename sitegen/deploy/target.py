"""Where a deploy goes, and how commands run there: locally, or over SSH.

Every operation on the deploy folder is a short POSIX shell script with its paths passed as
arguments ($1, $2, ...), so a local folder and a server run exactly the same code.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_REMOTE = re.compile(r"^(?:(?P<user>[^@/:\s]+)@)?(?P<host>[^@/:\s]+):(?P<path>.*)$")
_PR_SET_PDEATHSIG = 1


class DeployError(Exception):
    """A deploy that cannot go on: one line saying why. The live site is untouched."""


@dataclass(frozen=True)
class Target:
    """A deploy folder: `path` on `host` (None: this machine)."""

    path: str
    host: str | None = None  # "user@host" or "host"

    def __str__(self) -> str:
        return f"{self.host}:{self.path}" if self.host else self.path

    def rsync_path(self, relative: str) -> str:
        """A path inside the folder as rsync names it (host:path for a server)."""
        path = f"{self.path.rstrip('/')}/{relative}"
        return f"{self.host}:{path}" if self.host else path


def parse_target(text: str) -> Target:
    """'user@host:/srv/cfb' (rsync's rule: a ':' before any '/') or a local folder."""
    text = text.strip()
    if not text:
        raise DeployError("no target: pass TARGET or set `target` in [deploy] of sitegen.toml")
    match = _REMOTE.match(text)
    if match and not text.startswith(("/", ".")):
        path = match.group("path")
        if not path.startswith("/"):
            raise DeployError(
                f"{text}: write the folder on the server as an absolute path, like "
                f"{match.group('host')}:/srv/borgerdialog"
            )
        host = match.group("host")
        user = match.group("user")
        return Target(path.rstrip("/") or "/", f"{user}@{host}" if user else host)
    return Target(str(Path(text).expanduser().absolute()))


def die_with_parent() -> None:
    """In a child process: be killed when sitegen dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass(frozen=True)
class Shell:
    """Runs scripts where the target is: `sh -c` here, or through `ssh` on its host."""

    target: Target
    ssh: tuple[str, ...] = ("ssh",)

    @classmethod
    def for_target(cls, target: Target, ssh_command: str) -> Shell:
        words = shlex.split(ssh_command) or ["ssh"]
        # Never ask for a password or wait long for a host that does not answer.
        return cls(target, (*words, "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"))

    def argv(self, script: str, *args: str) -> list[str]:
        command = ["sh", "-c", script, "sh", *args]
        if self.target.host is None:
            return command
        return [*self.ssh, self.target.host, shlex.join(command)]

    def rsync_shell(self) -> list[str]:
        """rsync's `-e` option for this target (none for a local folder)."""
        return ["-e", shlex.join(self.ssh)] if self.target.host else []

    def run(self, script: str, *args: str) -> str:
        """Run `script` with `args` as $1...; its output, or DeployError with its reason."""
        try:
            done = subprocess.run(
                self.argv(script, *args),
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
                check=False,
            )
        except OSError as exc:
            raise DeployError(f"cannot run {exc.filename or 'a command'}: {exc.strerror}") from exc
        if done.returncode != 0:
            raise DeployError(self.explain(done.returncode, done.stderr))
        return done.stdout

    def popen(self, script: str, *args: str) -> subprocess.Popen[str]:
        """Start `script` and leave it running (stdin and stdout are pipes)."""
        try:
            return subprocess.Popen(
                self.argv(script, *args),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=die_with_parent,
            )
        except OSError as exc:
            raise DeployError(f"cannot run {exc.filename or 'a command'}: {exc.strerror}") from exc

    def explain(self, code: int, stderr: str) -> str:
        """One line for a failed command: an unreachable host, a refused key, a full disk."""
        return explain_failure(str(self.target), self.target.host, code, stderr)

    @contextlib.contextmanager
    def connected(self) -> Iterator[Shell]:
        """This shell, with one SSH connection that every command of a deploy shares."""
        host = self.target.host
        if host is None:
            yield self
            return
        with tempfile.TemporaryDirectory(prefix="sitegen-ssh-") as folder:
            control = f"{folder}/connection"
            try:
                master = subprocess.Popen(
                    [*self.ssh, "-M", "-S", control, "-o", "ControlPersist=no", "-N", host],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    preexec_fn=die_with_parent,
                )
            except OSError as exc:
                raise DeployError(f"cannot run {exc.filename}: {exc.strerror}") from exc
            with master:
                try:
                    while not os.path.exists(control):
                        if master.poll() is not None:
                            stderr = master.stderr.read() if master.stderr else ""
                            raise DeployError(self.explain(master.returncode, stderr))
                        time.sleep(0.01)
                    yield dataclasses.replace(
                        self, ssh=(*self.ssh, "-S", control, "-o", "ControlMaster=no")
                    )
                finally:
                    master.terminate()
                    master.wait()


def explain_failure(target: str, host: str | None, code: int, stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Warning: Permanently added")]
    text = "\n".join(lines)
    reason = lines[-1] if lines else f"exit status {code}"
    if "No space left on device" in text:
        return f"{target}: the disk is full (No space left on device)"
    if "Disk quota exceeded" in text:
        return f"{target}: the disk quota is used up (Disk quota exceeded)"
    if (host is not None and code == 255) or "connection unexpectedly closed" in text:
        if "Permission denied" in text:
            denied = next(line for line in lines if "Permission denied" in line)
            return (
                f"{host} refused the SSH key ({denied.rstrip('.')}); "
                "check the key in [deploy] ssh and the server's authorized_keys"
            )
        if "Host key verification failed" in text:
            return f"{host}: its host key is unknown or changed (Host key verification failed)"
        for line in lines:
            if line.startswith("ssh:"):
                return f"cannot reach {host}: {line.removeprefix('ssh:').strip()}"
    return f"{target}: {reason.removeprefix('sitegen-deploy: ')}"
