"""Run a build step over many items on every core, with results in the serial order.

Workers are forked, so they start with the parent's memory: the site model, the Markdown
instance and the compiled templates are never pickled; only item numbers go out and results
come back. Where fork is unavailable, or other threads are running (forking a threaded
process is unsafe), the step runs serially; the output is the same either way.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

Result = TypeVar("Result")

# Fewer items than this per worker are not worth starting a pool (measured on a 2-core machine).
MIN_ITEMS_PER_JOB = 64

_work: Callable[[int], Any] | None = None


def default_jobs() -> int:
    return os.cpu_count() or 1


def _call(index: int) -> Any:
    assert _work is not None
    return _work(index)


def _can_fork() -> bool:
    import multiprocessing  # not needed (nor its import time) when nothing runs in parallel

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def map_items(
    work: Callable[[int], Result],
    count: int,
    jobs: int,
    min_items_per_job: int = MIN_ITEMS_PER_JOB,
) -> list[Result]:
    """[work(0), ..., work(count - 1)], spread over `jobs` forked processes when it pays.

    `min_items_per_job` is how many items make starting a worker worth it: 1 for slow items
    such as encoding an image, whose results are then handed out one at a time.
    """
    jobs = min(jobs, count // min_items_per_job)
    if jobs <= 1 or not _can_fork():
        return [work(index) for index in range(count)]
    import multiprocessing

    global _work
    _work = work
    try:
        context = multiprocessing.get_context("fork")
        chunk = max(1, math.ceil(count / (jobs * 8))) if min_items_per_job > 1 else 1
        with context.Pool(jobs) as pool:
            return pool.map(_call, range(count), chunksize=chunk)
    finally:
        _work = None
