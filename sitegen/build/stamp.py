"""The quickest no-change rebuild: `sitegen build` compares file stats with the last build's.

After a successful `sitegen build`, a stamp records what the build was given: its command line
and folder, the day and the PAGEFIND_* environment, the stat (size, mtime, ctime, inode) of
every file it reads (sitegen.toml, content/, templates/, static/), of sitegen's own files and
of the folders its libraries are installed in, and the stat of every file it wrote into
output/. The next `sitegen build` with the same command line looks at the stamp before it
imports anything else; when every stat is still the same it says "Up to date" and stops,
without reading, let alone hashing, a single source. Any difference, and the build goes on
as before (which finds unchanged content by its digest, so a file that was only touched is
not rebuilt either).

A stat is only trusted when the file is older than the build that recorded it by more than
the file system's timestamp granularity (git's "racily clean" rule): a file saved while the
build read it would otherwise look unchanged. Folders count too (a file removed while the
build read leaves its folder's timestamps). The build's start is taken from this machine's
clock, so a network file system whose server's clock runs more than the window behind can
defeat the rule, as it can git's. The stamp is a hint, never a source of truth:
an unreadable, damaged or foreign stamp means "build".
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib

from sitegen.clock import build_date
from sitegen.output.stats import Stat, unchanged_since

# Only what the check needs is imported here: pathlib, hashlib (OpenSSL), tempfile, typing and
# contextlib would each cost a noticeable part of the whole check in a fresh virtualenv.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

STAMP_FOLDER = ".sitegen-cache/stamps"
FORMAT = 2
RACY_NS = 50_000_000  # timestamps of files saved this close to the build are not trusted
COARSE_RACY_NS = 2_000_000_000  # the same on file systems with whole-second timestamps
PACKAGE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # all of sitegen/


def stamp_file(argv: Sequence[str], cwd: str) -> str:
    """Where the stamp of the command line `argv` (after `sitegen build`) run in `cwd` lives:
    in the cache folder of the site its --site names, else of `cwd`. (Two command lines that
    share a name only take turns: the stamp itself records the command line it is for.)"""
    root = cwd
    for position, word in enumerate(argv):
        if word == "--site" and position + 1 < len(argv):
            root = os.path.join(cwd, argv[position + 1])
        elif word.startswith("--site="):
            root = os.path.join(cwd, word.removeprefix("--site="))
    line = "\0".join([cwd, *argv]).encode("utf-8", "surrogateescape")
    return os.path.join(root, STAMP_FOLDER, f"{zlib.crc32(line):08x}-{len(line):x}.stamp")


def _context(argv: Sequence[str], cwd: str, day: str) -> list[str]:
    """What decides the output besides the files: the command line, the day the build is for,
    the environment Pagefind reads, the interpreter."""
    pagefind = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("PAGEFIND_"))
    return [str(FORMAT), cwd, *argv, "\0", day, *pagefind, sys.version]


class _Scan:
    """The stats of files and folders, one line each, and the newest timestamps among them
    (whole seconds apart: such a file may sit on a file system with coarse timestamps)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.newest_fine = 0
        self.newest_coarse = 0
        self.seen: set[tuple[int, int]] = set()  # folders walked (a linked folder only once)

    def note_times(self, info: os.stat_result) -> None:
        for stamp in (info.st_mtime_ns, info.st_ctime_ns):
            if stamp % 1_000_000_000:
                self.newest_fine = max(self.newest_fine, stamp)
            else:
                self.newest_coarse = max(self.newest_coarse, stamp)

    def file(self, path: str, info: os.stat_result) -> None:
        self.note_times(info)
        mtime, ctime = info.st_mtime_ns, info.st_ctime_ns
        self.lines.append(f"{path}\0{info.st_size}\0{mtime}\0{ctime}\0{info.st_ino}")

    def walk(self, path: str, skip: frozenset[str] = frozenset()) -> None:
        """The stat of `path` and, for a folder, of everything in it (names in `skip` left
        out). A folder's own timestamps count for the racy check: a file removed while the
        build read is seen there."""
        try:
            info = os.stat(path)
        except OSError:
            self.lines.append(f"{path}\0-")
            return
        if not os.path.isdir(path):
            self.file(path, info)
            return
        stack = [(path, info)]
        while stack:
            folder, info = stack.pop()
            if (info.st_dev, info.st_ino) in self.seen:  # a link back into the tree
                self.lines.append(f"{folder}\0again")
                continue
            self.seen.add((info.st_dev, info.st_ino))
            self.note_times(info)
            self.lines.append(f"{folder}\0dir")
            try:
                entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
            except OSError:
                self.lines.append(f"{folder}\0?")
                continue
            for entry in entries:
                if entry.name in skip:
                    continue
                try:
                    if entry.is_dir():
                        stack.append((entry.path, entry.stat()))
                    else:
                        self.file(entry.path, entry.stat())
                except OSError:
                    self.lines.append(f"{entry.path}\0?")

    def racy(self, started_ns: int) -> bool:
        """Whether a timestamp is too close to `started_ns` to tell a later change apart."""
        return (
            self.newest_fine >= started_ns - RACY_NS
            or self.newest_coarse >= started_ns - COARSE_RACY_NS
        )


def _inputs_state(paths: Iterable[str], cwd: str) -> _Scan:
    """The stats of `paths` (folders walked), of sitegen's own files and of the folders on
    Python's path other than the current one (installing or upgrading a library changes
    them)."""
    scan = _Scan()
    for path in paths:
        scan.walk(path)
    scan.walk(str(PACKAGE), frozenset({"__pycache__"}))
    for entry in sys.path:
        if entry and os.path.abspath(entry) != cwd:
            try:
                info = os.stat(entry)
            except OSError:
                continue
            scan.note_times(info)
            scan.lines.append(f"{entry}\0{info.st_mtime_ns}\0{info.st_ino}")
    return scan


def _state(scan: _Scan) -> str:
    """The scan as one text: compared whole (cheaper than hashing it, and exact)."""
    return "\n".join(scan.lines)


def _output_unchanged(out: str, stats: dict[str, Stat]) -> bool:
    """Whether every file and folder output/ had after the build has the same stat, and no
    killed build left a staging folder beside it."""
    parent, name = os.path.split(out)
    try:
        if any(n.startswith((f".{name}.new-", f".{name}.old-")) for n in os.listdir(parent)):
            return False
    except OSError:
        return False
    return unchanged_since(out, stats)


# The scan the check made, for the stamp of the build that follows in this process (a
# stat of every input taken before the build read them: a file saved in between is found
# changed by the next check, as it should be). Taken once.
_scanned: tuple[tuple[str, ...], str, list[str], _Scan] | None = None


def up_to_date(argv: Sequence[str], cwd: str) -> tuple[int, str, bool] | None:
    """(files, output folder, quiet) when the build `argv` would write what output/ already
    holds, as far as the stamp can tell; None: build."""
    global _scanned
    _scanned = None
    try:
        with open(stamp_file(argv, cwd), "rb") as stream:
            stamp = marshal.loads(stream.read())
        if stamp["context"] != _context(argv, cwd, build_date().isoformat()):
            return None
        scan = _inputs_state(stamp["inputs"], cwd)
        _scanned = (tuple(argv), cwd, list(stamp["inputs"]), scan)
        if _state(scan) != stamp["state"]:
            return None
        if not _output_unchanged(stamp["out"], stamp["out_stats"]):
            return None
        _scanned = None  # no build follows
        return int(stamp["files"]), str(stamp["out"]), bool(stamp["quiet"])
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError):
        return None


def write_stamp(
    argv: Sequence[str],
    cwd: str,
    root: Path,
    inputs: Iterable[Path],
    out: Path,
    out_stats: dict[str, Stat],
    files: int,
    quiet: bool,
    day: str,
    started_ns: int,
) -> bool:
    """Record a successful build for `day` that began reading its inputs at `started_ns`. No
    stamp (and none left from before) when a file changed too close to the build to be
    trusted, or the stamp would not lie where `up_to_date` looks for it. True: written."""
    import contextlib
    import tempfile

    target = stamp_file(argv, cwd)
    with contextlib.suppress(OSError):
        os.unlink(target)
    folder = os.path.dirname(target)
    if os.path.abspath(os.path.dirname(os.path.dirname(folder))) != os.path.abspath(root):
        return False
    global _scanned
    paths = list(dict.fromkeys(str(path.absolute()) for path in inputs))
    checked, _scanned = _scanned, None
    if checked is not None and checked[:3] == (tuple(argv), cwd, paths):
        scan = checked[3]
    else:
        scan = _inputs_state(paths, cwd)
    if scan.racy(started_ns):
        return False
    stamp = {
        "context": _context(argv, cwd, day),
        "inputs": paths,
        "state": _state(scan),
        "out": str(out.absolute()),
        "out_stats": out_stats,
        "files": files,
        "quiet": quiet,
    }
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=folder, delete=False) as handle:
            handle.write(marshal.dumps(stamp))
        os.replace(handle.name, target)
    except OSError:
        return False
    return True
