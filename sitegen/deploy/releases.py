"""The deploy folder: complete releases side by side, and `current` pointing to one.

    TARGET/.sitegen-deploy      marks the folder as sitegen's (and is what the lock locks)
    TARGET/releases/<id>/       one complete site per deploy
    TARGET/releases/.partial-<id>/   an upload in progress (a killed deploy leaves it)
    TARGET/current -> releases/<id>  the web server's root, switched with one rename(2)

A release is uploaded beside the others and renamed into place only when it is complete;
only then does a new symlink replace `current` in one atomic rename, so `current` always
points to a complete release, whatever happens to a deploy.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sitegen.deploy.target import DeployError, Shell

MARKER = ".sitegen-deploy"
MARK = "sitegen deploy folder"
RELEASE_ID = re.compile(r"^\d{8}-\d{6}(-\d+)?$")

_PROBE = r"""
t="$1"
if [ ! -e "$t" ] && [ ! -L "$t" ]; then echo missing; exit 0; fi
if [ ! -d "$t" ]; then echo not-a-folder; exit 0; fi
if [ -f "$t/.sitegen-deploy" ]; then
  echo sitegen
  if [ -L "$t/current" ]; then echo "current $(readlink "$t/current")"; fi
  for release in "$t"/releases/*/; do
    [ -d "$release" ] && echo "release $(basename "$release")"
  done
  exit 0
fi
if [ -z "$(ls -A "$t")" ]; then echo empty; else echo foreign; fi
"""

_SET_UP = r"""
mkdir -p "$1/releases" && printf '%s\n' "$2" > "$1/.sitegen-deploy"
"""

_CLEAN = r"""
rm -rf "$1"/releases/.partial-* "$1/.current.new" 2>/dev/null || true
"""

# The new release is complete: name it, then point `current` at it with one rename.
_SWITCH = r"""
t="$1"; release="$2"; partial="$3"
if [ -n "$partial" ]; then mv "$t/releases/$partial" "$t/releases/$release" || exit 1; fi
[ -d "$t/releases/$release" ] || { echo "sitegen-deploy: no release $release" >&2; exit 1; }
rm -f "$t/.current.new"
ln -s "releases/$release" "$t/.current.new" && mv -T "$t/.current.new" "$t/current"
"""

_REMOVE = r"""
t="$1"; shift
for release in "$@"; do rm -rf "$t/releases/$release"; done
"""

_READ_LIVE = r"""
cat "$1/current/.sitegen/pages.json" 2>/dev/null || true
"""


@dataclass(frozen=True)
class DeployFolder:
    """What a probe found at the target."""

    state: str  # "missing", "empty", "sitegen", "foreign" or "not-a-folder"
    releases: tuple[str, ...] = ()  # ids, oldest first
    current: str | None = None  # the id `current` points to

    def previous(self) -> str | None:
        """The newest release older than the current one (what --rollback goes back to)."""
        if self.current is None:
            return None
        older = [r for r in self.releases if release_key(r) < release_key(self.current)]
        return older[-1] if older else None

    def new_id(self, now: float | None = None) -> str:
        """A release id that sorts after every existing one: the UTC time of the deploy."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
        if not self.releases or stamp > self.releases[-1][:15]:
            return stamp
        newest = self.releases[-1]
        return f"{newest[:15]}-{release_key(newest)[1] + 1}"

    def to_remove(self, keep: int, current: str) -> list[str]:
        """Releases beyond the newest `keep` (never the one `current` points to)."""
        return [r for r in self.releases[: max(0, len(self.releases) - keep)] if r != current]


def release_key(release: str) -> tuple[str, int]:
    """Sort order of release ids: by time, then by the number a same-second deploy adds."""
    return release[:15], int(release[16:] or 1) if release[16:].isdigit() else 1


def probe(shell: Shell) -> DeployFolder:
    """What is at the target: nothing yet, an empty folder, a deploy folder or something else."""
    lines = shell.run(_PROBE, shell.target.path).splitlines()
    if not lines:
        raise DeployError(f"{shell.target}: could not look at the folder")
    state = lines[0].strip()
    releases: list[str] = []
    current = None
    for line in lines[1:]:
        kind, _, value = line.partition(" ")
        if kind == "release" and RELEASE_ID.match(value):
            releases.append(value)
        elif kind == "current":
            current = value.rstrip("/").rpartition("/")[2] or None
    return DeployFolder(state, tuple(sorted(releases, key=release_key)), current)


def check_usable(folder: DeployFolder, shell: Shell) -> None:
    """Refuse a folder that holds anything but sitegen's releases."""
    if folder.state == "foreign":
        raise DeployError(
            f"{shell.target} is not a sitegen deploy folder (it holds other files); "
            "sitegen deploys only into an empty folder or one it set up: choose another"
        )
    if folder.state == "not-a-folder":
        raise DeployError(f"{shell.target} exists and is not a folder")


def set_up(shell: Shell) -> None:
    """Make a new (or empty) folder a deploy folder."""
    shell.run(_SET_UP, shell.target.path, MARK)


def clean_leftovers(shell: Shell) -> None:
    """Remove what killed deploys left behind (under the lock)."""
    shell.run(_CLEAN, shell.target.path)


def switch(shell: Shell, release: str, partial: str = "") -> None:
    """Make `release` live (renaming the upload `partial` to it first, when given)."""
    shell.run(_SWITCH, shell.target.path, release, partial)


def remove(shell: Shell, releases: list[str]) -> None:
    for release in releases:
        if not RELEASE_ID.match(release):  # never hand rm -rf anything else
            raise DeployError(f"{shell.target}: {release!r} is not a release")
    if releases:
        shell.run(_REMOVE, shell.target.path, *releases)


def live_manifest(shell: Shell) -> bytes:
    """The list of URLs of the live release (empty when there is none)."""
    return shell.run(_READ_LIVE, shell.target.path).encode()
