"""`sitegen build`: build the site into output/, or say that it is up to date.

A no-change rebuild stops after comparing one digest of the inputs: it never imports the
Markdown or template code, which is why the pipeline is imported only when there is work.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

from sitegen.arguments import (
    EXIT_ERRORS,
    EXIT_OK,
    ProgressLine,
    add_site_arguments,
    print_errors,
    site_root,
)
from sitegen.build.cache import BuildCache
from sitegen.build.inputs import inputs_digest, load_inputs
from sitegen.build.parallel import default_jobs
from sitegen.build.stamp import write_stamp
from sitegen.config import CONFIG_FILE, SOURCE_FOLDERS, BuildOptions, Config, default_options
from sitegen.errors import BuildError, UsageError, plural
from sitegen.output.write import OutputError, clean_leftovers, up_to_date, written_record


def add_build(parser: argparse.ArgumentParser) -> None:
    add_site_arguments(parser)
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="output folder; default: paths.output from sitegen.toml (output/)",
    )
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
    """The command; the cycle collector stays paused throughout (as the build pauses it while
    it makes its objects). When the process ends with the command, what the build made is
    frozen before the collector resumes: else it would walk them all once more (0.1 s at
    10,000 cases) just before the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(args)
    finally:
        if was_enabled:
            if getattr(args, "exiting", False):  # the process ends: nothing to collect
                gc.freeze()
            gc.enable()


def _build(args: argparse.Namespace) -> int:
    root = site_root(args)
    started = time.monotonic()
    started_ns = time.time_ns()
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    options = default_options(drafts=args.drafts, future=args.future)
    cache = None if args.no_cache else BuildCache.for_site(root)
    inputs = load_inputs(root, cache)
    target = Path(args.out).absolute() if args.out else inputs.config.path("output").absolute()
    record = None
    if cache is not None and not inputs.errors:
        record = up_to_date(cache, target, inputs_digest(inputs, options, target))
    if record is not None:  # nothing to do: not even the Markdown or template code is loaded
        clean_leftovers(target)
        _stamp(args, root, inputs.config, options, target, cache, len(record.files), started_ns)
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
    _stamp(args, root, inputs.config, options, target, cache, len(result.files), started_ns)
    if result.left_out and not args.quiet:
        count = plural(len({item.path for item in result.left_out}), "draft")
        print(
            f"sitegen: {count} with problems left out (not built); `sitegen check` shows them",
            file=sys.stderr,
        )
    for gone in result.gone if not args.quiet else ():
        print(gone.report(), file=sys.stderr)
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


def _stamp(
    args: argparse.Namespace,
    root: Path,
    config: Config,
    options: BuildOptions,
    target: Path,
    cache: BuildCache | None,
    files: int,
    started_ns: int,
) -> None:
    """Let the next `sitegen build` with the same command line see by file stats alone that
    nothing changed (sitegen/build/stamp.py). Not for -v, which lists every file."""
    words = getattr(args, "words", None)
    record = written_record(cache, target) if cache is not None else None
    if words is None or args.verbose or record is None:
        return
    inputs = [
        root / CONFIG_FILE,
        *(config.path(name) for name in SOURCE_FOLDERS),
        *(config.root / str(getattr(config.paths, name)) for name in SOURCE_FOLDERS),
    ]  # both where a folder is read from and where the site's own would be (templates/)
    day = options.today.isoformat()
    write_stamp(
        words, os.getcwd(), root, inputs, target, record.stats, files, args.quiet, day, started_ns
    )
