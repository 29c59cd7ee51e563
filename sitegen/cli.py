"""The `sitegen` command line. Exit 0 on success, 1 on content/template errors, 2 on usage."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sitegen import __version__
from sitegen.build.cache import BuildCache
from sitegen.build.inputs import load_inputs
from sitegen.build.parallel import default_jobs
from sitegen.config import CONFIG_FILE
from sitegen.errors import BuildError
from sitegen.options import default_options
from sitegen.output.records import up_to_date
from sitegen.output.write import OutputError, clean_leftovers

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace], int]
# Subcommands register here: name -> (help, add_arguments, run). Keeps main() small.
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Command]] = {}


class UsageError(Exception):
    """A problem with how sitegen was called (exit 2)."""


def register(
    name: str, help_text: str, add: Callable[[argparse.ArgumentParser], None], run: Command
) -> None:
    """Make `sitegen NAME` available: `add` declares its options, `run` carries it out."""
    COMMANDS[name] = (help_text, add, run)


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


def add_site_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--site",
        metavar="DIR",
        help="site root (the folder with sitegen.toml); default: current folder",
    )
    parser.add_argument("--drafts", action="store_true", help="include cases marked draft: true")
    parser.add_argument("--future", action="store_true", help="include cases dated after today")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every file written")


def print_errors(error: BuildError) -> None:
    for item in error.errors:
        print(item, file=sys.stderr)
    count = len(error.errors)
    print(
        f"sitegen: {count} error{'s' if count != 1 else ''}; nothing was written", file=sys.stderr
    )


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


def _add_build(parser: argparse.ArgumentParser) -> None:
    add_site_arguments(parser)
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="output folder; default: paths.output from sitegen.toml (output/)",
    )
    add_speed_arguments(parser)


def add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        metavar="N",
        default=default_jobs(),
        help="processes for parsing and rendering; default: the number of cores; 1: serial",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="a clean build: neither read nor update the build cache (.sitegen-cache/)",
    )


def run_build(args: argparse.Namespace) -> int:
    root = site_root(args)
    started = time.monotonic()
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    options = default_options(drafts=args.drafts, future=args.future)
    cache = None if args.no_cache else BuildCache.for_site(root)
    inputs = load_inputs(root)
    target = Path(args.out).absolute() if args.out else inputs.config.path("output").absolute()
    record = up_to_date(inputs, options, target, cache) if cache else None
    if record is not None:  # nothing to do: not even the Markdown or template code is loaded
        clean_leftovers(target)
        if args.verbose:
            for path in sorted(record.files):
                print(path)
        if not args.quiet:
            print(
                f"Up to date: {len(record.files)} files in {target} "
                f"({time.monotonic() - started:.2f} s)"
            )
        return EXIT_OK
    from sitegen.build.pipeline import build

    try:
        result = build(
            root,
            options,
            target,
            progress=ProgressLine(not args.quiet),
            cache=cache,
            jobs=args.jobs,
            inputs=inputs,
        )
    except BuildError as error:
        print_errors(error)
        return EXIT_ERRORS
    except OutputError as error:
        print(f"sitegen: {error}; the previous output is unchanged", file=sys.stderr)
        return EXIT_ERRORS
    report = result.report
    assert report is not None
    if args.verbose:
        for item in result.files:
            print(item.path)
    if not args.quiet:
        print(
            f"Built {len(result.files)} files into {target} "
            f"({report.written} written, {report.unchanged} unchanged, {report.removed} removed) "
            f"in {time.monotonic() - started:.2f} s"
        )
    return EXIT_OK


register("build", "build the site into output/", _add_build, run_build)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitegen",
        description="Build the Center for Borgerdialog site and newsletter from Markdown.",
    )
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_text, add, run) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text.capitalize())
        add(sub)
        sub.set_defaults(run=run)
    return parser


# Modules that register further commands when imported (serve, check, newsletter ...).
COMMAND_MODULES: tuple[str, ...] = (
    "sitegen.serve.server",
    "sitegen.new",
    "sitegen.check.command",
    "sitegen.newsletter.send",
)


def _load_commands() -> None:
    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(module)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if not (words and words[0] in COMMANDS):  # `sitegen build` need not import the others
        _load_commands()
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
    except UsageError as error:
        print(f"sitegen: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sitegen: interrupted", file=sys.stderr)
        return 130
    return result
