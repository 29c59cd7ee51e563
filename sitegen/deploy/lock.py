"""One deploy to a folder at a time: `flock` on its marker file, held by a running script.

The script runs where the folder is (locally or over SSH) and holds the lock until its
input closes: when the deploy ends, or when it is killed (its children die with it, and a
server sees the connection close), so a killed deploy never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

from sitegen.deploy.releases import MARKER
from sitegen.deploy.target import DeployError, Shell

WAIT_SECONDS = 20

_HOLD = r"""
exec 9<"$1" || exit 1
if ! flock -n 9; then
  echo waiting
  flock -w "$2" 9 || exit 75
fi
echo locked
exec cat >/dev/null
"""


@contextlib.contextmanager
def deploy_lock(shell: Shell, wait: int | None = None) -> Iterator[None]:
    """Hold the deploy folder's lock; wait up to `wait` seconds (WAIT_SECONDS) for another."""
    seconds = WAIT_SECONDS if wait is None else wait
    holder = shell.popen(_HOLD, f"{shell.target.path}/{MARKER}", str(seconds))
    try:
        _wait_until_locked(holder, shell)
        yield
    finally:
        _release(holder)


def _wait_until_locked(holder: subprocess.Popen[str], shell: Shell) -> None:
    assert holder.stdout is not None
    for line in holder.stdout:
        if line.strip() == "waiting":
            print(f"sitegen: waiting for another deploy to {shell.target} ...", file=sys.stderr)
        elif line.strip() == "locked":
            return
    code = holder.wait()
    stderr = holder.stderr.read() if holder.stderr else ""
    if code == 75:
        raise DeployError(
            f"another deploy to {shell.target} is still running; try again when it has finished"
        )
    raise DeployError(shell.explain(code, stderr))


def _release(holder: subprocess.Popen[str]) -> None:
    """Close the script's input: it ends, and with it the lock."""
    with contextlib.suppress(OSError):
        if holder.stdin:
            holder.stdin.close()
    try:
        holder.wait(timeout=10)
    except subprocess.TimeoutExpired:
        holder.kill()
        holder.wait()
    for stream in (holder.stdout, holder.stderr):
        if stream:
            stream.close()
