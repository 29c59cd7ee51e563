"""Write: the only stage that touches output/. Atomic, and unchanged files keep their inode.

The new site is assembled in a sibling folder and swapped in with one rename(2) exchange, so
output/ is always a complete old or a complete new site.

`write_tracked` makes that cheap to repeat. It keeps an output record: the digest of every
output file and the (size, mtime, inode) of every file and folder of output/. A folder's
mtime changes when an entry is added or removed inside it, so checking the recorded stats
proves cheaply that nobody touched output/ since; if anything differs the record is not
trusted and the build falls back to comparing bytes. When something changed, the tree that
the previous swap displaced is kept as a spare (in the cache folder) and brought up to date,
which costs as many file operations as there are changed files instead of one per file.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, TypeVar

from sitegen.output.stats import Stat
from sitegen.output.stats import unchanged_since as stats_unchanged

Item = TypeVar("Item")

# Threads that write the files of a new output tree (a cold build's ~2,400 folders and files)
# and how few files make a thread worth starting.
WRITERS = 4
MIN_FILES_PER_WRITER = 64


class OutputFile(Protocol):
    """A file to write: `path` inside output/ and its bytes (render's OutputFile).

    A file may also carry the `digest` of its bytes (an image copy kept on disk until it is
    written): its bytes are then read only if it has to be written.
    """

    @property
    def path(self) -> str: ...

    @property
    def data(self) -> bytes: ...


class RecordStore(Protocol):
    """Where output records and the spare tree live between builds (the build cache)."""

    def load_record(self, name: str) -> Any | None: ...

    def save_record(self, name: str, value: Any) -> None: ...

    def spare_folder(self, name: str) -> Path | None: ...

    def digest_of(self, data: bytes) -> bytes: ...


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


def write_output(files: Iterable[OutputFile], out: Path, lock: bool = True) -> WriteReport:
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


def _link_or_write(
    target: Path, previous: Path, item: OutputFile, same: bool, data: bytes | None = None
) -> bool:
    """Put the file at `target`: a hard link to `previous` if it holds the same bytes (True).

    Its bytes (`data`, when the caller has read them already) are read only to be written.
    """
    if same:
        try:
            os.link(previous, target)
            return True
        except OSError:
            pass
    write_file(target, item.data if data is None else data)
    return False


def _fill(staging: Path, out: Path, files: Iterable[OutputFile]) -> WriteReport:
    had_output = out.is_dir()  # else there is no old file to compare with
    made: set[Path] = set()  # folders made (two threads may both make one: exist_ok)

    def put(item: OutputFile) -> bool:
        """Write or link one file; True when it is output/'s file, linked."""
        relative = _safe_relative(item.path)
        target = staging / relative
        previous = out / relative
        try:
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            data = item.data
            same = had_output and _same_bytes(previous, data)
            return _link_or_write(target, previous, item, same, data)
        except OSError as exc:
            exc.filename = str(previous)  # name the file as it would be in output/
            raise

    listed = list(files)
    linked = _in_threads(put, listed)
    unchanged = sum(linked)
    kept = {_safe_relative(item.path).as_posix() for item in listed}
    removed = 0
    if out.is_dir():
        for old in out.rglob("*"):
            if old.is_file() and old.relative_to(out).as_posix() not in kept:
                removed += 1
    return WriteReport(len(listed) - unchanged, unchanged, removed)


def _in_threads(work: Callable[[Item], bool], items: list[Item]) -> list[bool]:
    """`work` over `items`, in WRITERS threads each taking a run of them (folders and files
    are made by system calls that let go of the interpreter, so threads overlap them); the
    results in order. The first failure, in the order of `items`, is raised."""
    if len(items) < 2 * MIN_FILES_PER_WRITER:
        return [work(item) for item in items]
    count = min(WRITERS, len(items) // MIN_FILES_PER_WRITER)
    size = -(-len(items) // count)
    runs = [items[start : start + size] for start in range(0, len(items), size)]
    results: list[list[bool]] = [[] for _ in runs]
    failures: list[BaseException | None] = [None] * len(runs)

    def run(number: int) -> None:
        try:
            results[number] = [work(item) for item in runs[number]]
        except BaseException as exc:  # raised below, in the caller's thread
            failures[number] = exc

    threads = [threading.Thread(target=run, args=(n,), name="write") for n in range(1, len(runs))]
    for thread in threads:
        thread.start()
    run(0)
    for thread in threads:
        thread.join()
    for failure in failures:
        if failure is not None:
            raise failure
    return [result for part in results for result in part]


@dataclass(frozen=True)
class OutputRecord:
    inputs: bytes  # digest of the inputs of the build that wrote this tree
    files: dict[str, bytes]  # path inside the tree -> digest of its bytes
    stats: dict[str, Stat]  # path of every file and folder ("" is the tree itself) -> stat


def record_name(out: Path) -> str:
    """The name of the records of one output folder (by its absolute path)."""
    return hashlib.blake2b(str(out.absolute()).encode(), digest_size=8).hexdigest()


def _folders(paths: Iterable[str]) -> set[str]:
    found = {""}
    for path in paths:
        parts = path.split("/")[:-1]
        for end in range(1, len(parts) + 1):
            found.add("/".join(parts[:end]))
    return found


def snapshot(tree: Path, paths: Iterable[str]) -> dict[str, Stat]:
    """The stat of every listed file and of every folder above them."""
    listed = list(paths)
    return _stat_into({}, tree, _folders(listed), listed)


def _stat_into(
    stats: dict[str, Stat], tree: Path, folders: Iterable[str], files: Iterable[str]
) -> dict[str, Stat]:
    """`stats` with the stat of `folders` ("" is the tree) and `files` inside `tree` added."""
    base = str(tree)
    for path in sorted(folders):
        info = os.lstat(f"{base}/{path}" if path else base)
        stats[path] = (0, info.st_mtime_ns, info.st_ino)
    for path in files:
        info = os.lstat(f"{base}/{path}")
        stats[path] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return stats


def unchanged_since(tree: Path, stats: dict[str, Stat]) -> bool:
    """True when every recorded file and folder still has its recorded stat."""
    return stats_unchanged(str(tree), stats)


def written_record(cache: RecordStore, out: Path) -> OutputRecord | None:
    """The record of output/ as the last build wrote it (not checked against the folder)."""
    record = cache.load_record("output-" + record_name(out))
    return record if isinstance(record, OutputRecord) else None


def current_record(cache: RecordStore, out: Path) -> OutputRecord | None:
    """The record of output/ if it is still accurate, else None."""
    record = cache.load_record("output-" + record_name(out))
    if isinstance(record, OutputRecord) and unchanged_since(out, record.stats):
        return record
    return None


def up_to_date(cache: RecordStore, out: Path, inputs: bytes) -> OutputRecord | None:
    """The record of output/ when it was built from inputs of digest `inputs` and is untouched."""
    out = out.absolute()
    record = cache.load_record("output-" + record_name(out))
    if not isinstance(record, OutputRecord) or record.inputs != inputs:
        return None  # something changed: no need to look at output/ at all
    return record if unchanged_since(out, record.stats) else None


def write_tracked(
    files: Sequence[OutputFile], out: Path, cache: RecordStore, inputs: bytes
) -> WriteReport:
    """Like write_output (atomic swap, unchanged files keep their inode), but cheap to repeat."""
    out = out.absolute()
    digests = {item.path: _digest(item, cache) for item in files}
    try:
        with output_lock(out):
            return _write_locked(files, out, cache, inputs, digests)
    except OSError as exc:
        raise OutputError(f"could not write {_describe(exc, out)}") from exc


def _write_locked(
    files: Sequence[OutputFile],
    out: Path,
    cache: RecordStore,
    inputs: bytes,
    digests: dict[str, bytes],
) -> WriteReport:
    name = record_name(out)
    _clean_leftovers(out)
    record = current_record(cache, out)
    if record is None:
        cache.save_record("spare-" + name, None)
        report = _locked_write(files, out)
        written = _record(out, inputs, digests)
        cache.save_record("output-" + name, written)
        _prepare_spare(cache, name, out, written, files)
        return report
    if record.files == digests:
        cache.save_record("output-" + name, OutputRecord(inputs, digests, record.stats))
        return WriteReport(0, len(files), 0)
    spare = cache.spare_folder(name)
    assert spare is not None
    spare_record = cache.load_record("spare-" + name)
    if not (isinstance(spare_record, OutputRecord) and _usable(spare, spare_record)):
        shutil.rmtree(spare, ignore_errors=True)
        spare.mkdir(parents=True)
        if os.stat(spare).st_dev != os.stat(out.parent).st_dev:  # no atomic swap across disks
            shutil.rmtree(spare, ignore_errors=True)
            report = _locked_write(files, out)
            cache.save_record("output-" + name, _record(out, inputs, digests))
            return report
        spare_record = OutputRecord(b"", {}, snapshot(spare, []))
    cache.save_record("spare-" + name, None)  # the spare is about to change
    touched: list[str] = []
    report = _update(spare, spare_record, out, record, files, digests, touched)
    _swap_in(spare, out)
    cache.save_record("spare-" + name, record)  # the displaced tree is the old output
    stats = _restat(out, spare_record, digests, touched)
    cache.save_record("output-" + name, OutputRecord(inputs, digests, stats))
    return report


def _restat(
    tree: Path, before: OutputRecord, digests: dict[str, bytes], touched: list[str]
) -> dict[str, Stat]:
    """snapshot(tree, digests) for a tree that had the stats of `before` (just checked) and
    then had only the files `touched` written or linked and the files it no longer lists
    removed: the stat of those and of the folders above them (the rest is as it was)."""
    stale = [path for path in before.files if path not in digests]
    folders = _folders(digests)
    changed = (_folders(touched) | _folders(stale)) & folders
    stats = {
        path: stat for path, stat in before.stats.items() if path in digests or path in folders
    }
    return _stat_into(stats, tree, changed, touched)


def _prepare_spare(
    cache: RecordStore, name: str, out: Path, record: OutputRecord, files: Sequence[OutputFile]
) -> None:
    """Hard-link the tree just written into the spare folder.

    The next build that changes something then updates the spare with only its changed files
    and swaps it in, as every later build does, instead of first linking every file of the
    site. A spare that cannot be made is simply not there (the next build makes one).
    """
    spare = cache.spare_folder(name)
    if spare is None:
        return
    shutil.rmtree(spare, ignore_errors=True)
    try:
        spare.mkdir(parents=True)
        if os.stat(spare).st_dev != os.stat(out).st_dev:  # no atomic swap across disks
            raise OSError("the cache and the output are on different disks")
        empty = OutputRecord(b"", {}, snapshot(spare, []))
        _update(spare, empty, out, record, files, record.files, [])
        cache.save_record("spare-" + name, _record(spare, record.inputs, record.files))
    except OSError:
        shutil.rmtree(spare, ignore_errors=True)


def _locked_write(files: Sequence[OutputFile], out: Path) -> WriteReport:
    """write_output while already holding the lock (flock is per open file, so reenter)."""
    return write_output(files, out, lock=False)


def _record(out: Path, inputs: bytes, digests: dict[str, bytes]) -> OutputRecord:
    return OutputRecord(inputs, digests, snapshot(out, digests))


def _usable(spare: Path, record: OutputRecord) -> bool:
    return spare.is_dir() and unchanged_since(spare, record.stats)


def _update(
    spare: Path,
    spare_record: OutputRecord,
    out: Path,
    out_record: OutputRecord,
    files: Sequence[OutputFile],
    digests: dict[str, bytes],
    touched: list[str],
) -> WriteReport:
    """Make `spare` hold exactly `files`: unchanged ones as hard links to output/'s. The
    paths of the files it writes or links go to `touched`."""
    unchanged = 0
    stale = [path for path in spare_record.files if path not in digests]
    for path in stale:
        _unlink(spare / path)
    gone = _folders(stale) - _folders(digests) if stale else set()
    for folder in sorted(gone, key=len, reverse=True):
        with contextlib.suppress(OSError):
            (spare / folder).rmdir()
    out_files, out_stats, spare_stats = out_record.files, out_record.stats, spare_record.stats
    changed: list[tuple[OutputFile, bool]] = []
    for item in files:
        same = out_files.get(item.path) == digests[item.path]
        if same and spare_stats.get(item.path, (0, 0, -1))[2] == out_stats[item.path][2]:
            unchanged += 1  # already a hard link to output/'s file
        else:
            changed.append((item, same))
    folders = _folders(spare_record.files) - gone if changed else set()

    def put(change: tuple[OutputFile, bool]) -> bool:
        """Link or write one file; True when it is output/'s file, linked."""
        item, same = change
        relative = _safe_relative(item.path).as_posix()
        target = spare / relative
        try:
            if relative.rpartition("/")[0] not in folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                folders.update(_folders([relative]))
            _unlink(target)
            return _link_or_write(target, out / relative, item, same)
        except OSError as exc:
            exc.filename = str(out / relative)  # name the file as it would be in output/
            raise

    linked = _in_threads(put, changed)
    touched.extend(item.path for item, _same in changed)
    unchanged += sum(linked)
    written = len(changed) - sum(linked)
    removed = sum(1 for path in out_record.files if path not in digests)
    return WriteReport(written, unchanged, removed)


def _digest(item: OutputFile, cache: RecordStore) -> bytes:
    """The digest of a file's bytes: the one it carries, else worked out (and remembered)."""
    known = getattr(item, "digest", None)
    return known if isinstance(known, bytes) else cache.digest_of(item.data)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
