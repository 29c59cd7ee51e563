"""Write: the only stage that touches output/. Atomic, and unchanged files keep their inode.

The new site is assembled in a sibling folder and swapped in with one
rename(2) exchange, so output/ is always a complete old or a complete new site.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # render imports Jinja2, which a no-change rebuild never needs
    from sitegen.render.files import RenderedFile

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(Exception):
    """The output folder could not be written; the previous site is untouched."""


# Written into the lock file beside an output folder once sitegen has built it: an existing,
# non-empty folder without it is someone else's, and a build never replaces it.
OWNER_MARK = "sitegen output folder\n"


@dataclass(frozen=True)
class WriteReport:
    written: int  # files whose bytes changed or are new
    unchanged: int
    removed: int


@contextlib.contextmanager
def output_lock(out: Path, wait_message: bool = True) -> Iterator[None]:
    """Serialize builds writing to one output folder; a second build waits its turn."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(out), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if wait_message:
                print(f"sitegen: waiting for another build writing {out} ...", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _safe_relative(path: str) -> PurePosixPath:
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise OutputError(f"refusing to write outside the output folder: {path!r}")
    return pure


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two folders (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(a))


def _swap_in(staging: Path, out: Path) -> None:
    """Make `staging` the output folder; afterwards `staging` holds the old site (if any)."""
    if not out.exists():
        os.rename(staging, out)
        staging.mkdir()
        return
    if not out.is_dir() or out.is_symlink():
        raise OutputError(f"{out} exists and is not a folder; not replacing it")
    if _exchange(staging, out):
        return
    parked = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.rename(out, parked)
    os.rename(staging, out)
    os.rename(parked, staging)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def clean_leftovers(out: Path) -> None:
    """Remove what killed builds left beside `out`, taking the lock only if there is any."""
    if any(out.parent.glob(f".{out.name}.new-*")) or any(out.parent.glob(f".{out.name}.old-*")):
        with output_lock(out):
            _clean_leftovers(out)


def _clean_leftovers(out: Path) -> None:
    """Remove staging folders of builds that were killed before they finished."""
    for leftover in out.parent.glob(f".{out.name}.new-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    parked = sorted(out.parent.glob(f".{out.name}.old-*"))
    if parked and not out.exists():
        os.rename(parked[-1], out)  # a swap was interrupted between its two renames
    for leftover in out.parent.glob(f".{out.name}.old-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


def _check_owner(out: Path) -> None:
    """Refuse to replace a non-empty folder that an earlier sitegen build did not make."""
    if not out.is_dir() or out.is_symlink() or not any(out.iterdir()):
        return
    try:
        mark = _lock_path(out).read_text(encoding="utf-8", errors="replace")
    except OSError:
        mark = ""
    if mark != OWNER_MARK:
        raise OutputError(
            f"{out} is not empty and was not built by sitegen; "
            "move it away or choose another output folder"
        )


def _mark_owner(out: Path) -> None:
    lock = _lock_path(out)
    if lock.read_text(encoding="utf-8", errors="replace") != OWNER_MARK:
        lock.write_text(OWNER_MARK, encoding="utf-8")


def _describe(exc: OSError, out: Path) -> str:
    """'/site/output/cases/x/index.html: No space left on device'."""
    return f"{exc.filename or out}: {exc.strerror or exc}"


def write_output(files: Iterable[RenderedFile], out: Path, lock: bool = True) -> WriteReport:
    """Replace `out` with exactly `files`, atomically. Raises OutputError on failure.

    `lock=False` is for a caller that already holds `output_lock(out)`.
    """
    out = out.absolute()
    try:
        with output_lock(out) if lock else contextlib.nullcontext():
            _check_owner(out)
            _mark_owner(out)
            _clean_leftovers(out)
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
            try:
                report = _fill(staging, out, files)
                _swap_in(staging, out)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise OutputError(f"could not write {_describe(exc, out)}") from exc
    return report


def write_file(path: Path, data: bytes) -> None:
    """Write one new file of the staging folder."""
    with open(path, "wb") as handle:
        handle.write(data)


def _fill(staging: Path, out: Path, files: Iterable[RenderedFile]) -> WriteReport:
    written = unchanged = 0
    kept: set[str] = set()
    made: set[Path] = set()
    for item in files:
        relative = _safe_relative(item.path)
        target = staging / relative
        previous = out / relative
        kept.add(relative.as_posix())
        try:
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            if _same_bytes(previous, item.data):
                try:
                    os.link(previous, target)
                    unchanged += 1
                    continue
                except OSError:
                    pass
            write_file(target, item.data)
        except OSError as exc:
            exc.filename = str(previous)  # name the file as it would be in output/
            raise
        written += 1
    removed = 0
    if out.is_dir():
        for old in out.rglob("*"):
            if old.is_file() and old.relative_to(out).as_posix() not in kept:
                removed += 1
    return WriteReport(written, unchanged, removed)
