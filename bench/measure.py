"""Run one command in its own child process; report wall time and peak memory.

Peak memory comes from GNU time's %M (the command's ru_maxrss) when /usr/bin/time
exists. Without it the harness's own wait4 rusage is used, whose ru_maxrss never
falls below the harness's own peak RSS (the kernel carries it over at exec).
A sampler adds up the proportional set size (PSS) over the whole process tree every
100 ms, for builds that run several processes at once: forked workers share their
parent's pages copy-on-write, and summing plain RSS would count those pages once per
process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

GNU_TIME = Path("/usr/bin/time")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


@dataclass
class Measurement:
    """Result of one measured run."""

    returncode: int
    wall_s: float
    maxrss_mib: float  # largest single process (ru_maxrss of it and its waited children)
    tree_rss_mib: float  # sampled sum of PSS over the whole process tree
    timed_out: bool
    output_tail: str
    cpu_s: float = 0.0  # user + system time of the process and every child it waited for

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def peak_mib(self) -> float:
        return max(self.maxrss_mib, self.tree_rss_mib)


def _parents() -> dict[int, int]:
    """Map of pid -> parent pid for every process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    return parents


def _pss(pid: int) -> int:
    """Proportional set size of one process in bytes (shared pages split among sharers)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE


def tree_rss(root: int) -> int:
    """Sum of the memory (PSS, bytes) of root and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            total += _pss(pid)
        except (OSError, IndexError, ValueError):
            continue
    return total


class TreeSampler(threading.Thread):
    """Samples the RSS of a process tree until stopped; keeps the peak."""

    def __init__(self, root: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            self.peak = max(self.peak, tree_rss(self.root))
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _tail(handle: IO[bytes], limit: int = 3000) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", "replace")[-limit:]


def _time_maxrss_kib(path: Path) -> float | None:
    """Last line of GNU time's -o file: the %M value in KiB."""
    try:
        lines = path.read_text().strip().splitlines()
        return float(lines[-1])
    except (OSError, IndexError, ValueError):
        return None


def run_measured(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 3600.0
) -> Measurement:
    """Run cmd in a new session; wall time, ru_maxrss and sampled process-tree RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        log, rss_file = Path(tmp) / "output", Path(tmp) / "maxrss"
        full = cmd
        if GNU_TIME.exists():
            full = [str(GNU_TIME), "-f", "%M", "-o", str(rss_file), *cmd]
        with log.open("w+b") as output:
            start = time.perf_counter()
            try:
                proc = subprocess.Popen(
                    full,
                    cwd=cwd,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                return Measurement(127, 0.0, 0.0, 0.0, False, f"cannot start {cmd[0]}: {exc}")
            sampler = TreeSampler(proc.pid)
            sampler.start()
            timer = threading.Timer(timeout, _kill_group, [proc.pid])
            timer.start()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            timer.cancel()
            sampler.stop()
            proc.returncode = os.waitstatus_to_exitcode(status)
            tail = _tail(output)
        maxrss_kib = _time_maxrss_kib(rss_file) if GNU_TIME.exists() else None
        if maxrss_kib is None:
            maxrss_kib = float(usage.ru_maxrss)  # KiB on Linux
        return Measurement(
            returncode=proc.returncode,
            wall_s=wall,
            maxrss_mib=maxrss_kib / 1024,
            tree_rss_mib=sampler.peak / MIB,
            timed_out=wall >= timeout,
            output_tail=tail,
            cpu_s=usage.ru_utime + usage.ru_stime,
        )
