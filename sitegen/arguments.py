"""What every command shares: the site root, the build switches, exit codes, error output."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sitegen.config import CONFIG_FILE
from sitegen.errors import BuildError, UsageError, plural

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def site_root(args: argparse.Namespace) -> Path:
    """The site folder: --site, else the current folder (where sitegen.toml is)."""
    root = Path(args.site) if args.site else Path.cwd()
    if not root.is_dir():
        raise UsageError(f"--site {root}: no such folder")
    if args.site is None and not (root / CONFIG_FILE).exists() and not (root / "content").is_dir():
        raise UsageError(
            f"no {CONFIG_FILE} or content/ folder here; run from the site root or pass --site DIR"
        )
    return root.absolute()


SITE_HELP = {
    "site": "site root (the folder with sitegen.toml); default: current folder",
    "drafts": "include cases marked draft: true",
    "future": "include cases dated after today",
    "quiet": "print only errors",
    "verbose": "print every file written",
}


def add_site_arguments(
    parser: argparse.ArgumentParser, helps: dict[str, str] | None = None
) -> None:
    """--site, --drafts, --future, -q and -v; `helps` rewords any of them for one command."""
    text = SITE_HELP | (helps or {})
    parser.add_argument("--site", metavar="DIR", help=text["site"])
    parser.add_argument("--drafts", action="store_true", help=text["drafts"])
    parser.add_argument("--future", action="store_true", help=text["future"])
    parser.add_argument("-q", "--quiet", action="store_true", help=text["quiet"])
    parser.add_argument("-v", "--verbose", action="store_true", help=text["verbose"])


def print_errors(error: BuildError) -> None:
    for item in error.errors:
        print(item, file=sys.stderr)
    print(f"sitegen: {plural(len(error.errors), 'error')}; nothing was written", file=sys.stderr)


class ProgressLine:
    """'pages done of total' on a terminal; silent when output is piped."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.enabled and (done == total or now - self.last > 0.1):
            self.last = now
            end = "\n" if done == total else ""
            print(f"\rRendering pages: {done}/{total}", end=end, file=sys.stderr, flush=True)
