"""Whether a written tree is still as it was: the stat of each file and folder, compared.

Kept apart from write.py (and free of its imports) because `sitegen build` asks it before it
imports anything else, when nothing may have changed since the last build.
"""

from __future__ import annotations

import os

Stat = tuple[int, int, int]  # size, mtime_ns, inode


def unchanged_since(base: str, stats: dict[str, Stat]) -> bool:
    """True when every recorded file and folder under `base` still has its recorded stat."""
    try:
        for path, (size, mtime, inode) in stats.items():
            info = os.lstat(f"{base}/{path}" if path else base)
            if info.st_mtime_ns != mtime or info.st_ino != inode:
                return False
            if size and info.st_size != size:
                return False
    except OSError:
        return False
    return True
