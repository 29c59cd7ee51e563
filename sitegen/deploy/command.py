"""`sitegen deploy`: build if needed, upload a new release, switch `current` to it.

The live site changes in one step, the rename of `current`, and only after the new release
is complete and no published URL would break; everything before that can fail, or be
killed, without a reader noticing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sitegen.arguments import (
    EXIT_ERRORS,
    EXIT_OK,
    SITE_HELP,
    ProgressLine,
    print_errors,
    site_root,
)
from sitegen.build.cache import BuildCache
from sitegen.build.inputs import Inputs, inputs_digest, load_inputs
from sitegen.build.parallel import default_jobs
from sitegen.config import Config, default_options
from sitegen.deploy import releases
from sitegen.deploy.guard import broken_urls, refusal
from sitegen.deploy.lock import deploy_lock
from sitegen.deploy.releases import DeployFolder
from sitegen.deploy.target import DeployError, Shell, Target, parse_target
from sitegen.deploy.upload import UploadLine, changes, upload
from sitegen.errors import BuildError, UsageError, plural
from sitegen.output.published import Published, read_published
from sitegen.output.write import OutputError, output_lock, up_to_date


class Stop(Exception):
    """The deploy ends here with `code`; what went wrong has been printed."""

    def __init__(self, code: int) -> None:
        self.code = code


def add_deploy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="a local folder or user@host:/path (rsync over SSH); default: [deploy] target",
    )
    parser.add_argument("--site", metavar="DIR", help=SITE_HELP["site"])
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be added, changed and removed"
    )
    parser.add_argument(
        "--rollback", action="store_true", help="switch back to the previous release"
    )
    parser.add_argument(
        "--keep",
        type=int,
        metavar="N",
        help="how many releases to keep; default: [deploy] keep (5)",
    )
    parser.add_argument(
        "--allow-removed",
        action="store_true",
        help="publish even though URLs of the live site are gone (a deliberate removal)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")


def run_deploy(args: argparse.Namespace) -> int:
    root = site_root(args)
    if args.keep is not None and args.keep < 1:
        raise UsageError("--keep must be at least 1")
    inputs = load_inputs(root)
    if inputs.errors:
        print_errors(BuildError(inputs.errors.errors))
        return EXIT_ERRORS
    config = inputs.config
    try:
        target = parse_target(args.target or config.deploy.target)
        check_local_target(target, config)
        out = None if args.rollback else ensure_built(root, inputs, args.quiet)
        with Shell.for_target(target, config.deploy.ssh).connected() as shell:
            code = publish(shell, out, config, args)
            if code == EXIT_OK and not args.dry_run:
                reload_server(shell, config.deploy.reload_command, args.quiet)
            return code
    except DeployError as error:
        print(f"sitegen deploy: {error}; the live site is unchanged", file=sys.stderr)
        return EXIT_ERRORS
    except Stop as stop:
        return stop.code


def publish(shell: Shell, out: Path | None, config: Config, args: argparse.Namespace) -> int:
    """Deploy the built site `out` (or, without one, roll back) over a connected shell."""
    if out is None:
        return rollback(shell, args.dry_run, args.quiet)
    with output_lock(out):  # a build started meanwhile waits until the upload is done
        new = read_published(out)
        if new is None:
            raise DeployError(f"{out} was not built by this sitegen; run sitegen build")
        if args.dry_run:
            return dry_run(shell, out, new, args.allow_removed)
        keep = args.keep if args.keep is not None else config.deploy.keep
        return deploy(shell, out, new, keep, args, config.deploy.bandwidth_limit)


def check_local_target(target: Target, config: Config) -> None:
    """A local target must stay clear of the site's own folders."""
    if target.host is not None:
        return
    path = Path(target.path).resolve()
    if config.root.resolve().is_relative_to(path):
        raise DeployError(f"{path} holds the site itself; choose another target")
    for name in ("content", "templates", "static", "output"):
        folder = config.path(name).resolve()
        if path.is_relative_to(folder) or folder.is_relative_to(path):
            raise DeployError(f"{path} overlaps the site's {name} folder; choose another target")


def ensure_built(root: Path, inputs: Inputs, quiet: bool) -> Path:
    """output/, built first unless it is up to date (never with drafts or future cases)."""
    options = default_options()
    out = inputs.config.path("output").absolute()
    cache = BuildCache.for_site(root)
    if up_to_date(cache, out, inputs_digest(inputs, options, out)) is not None:
        return out
    from sitegen.build.pipeline import build  # only when there is something to build

    started = time.monotonic()
    try:
        result = build(
            root,
            options,
            out,
            progress=ProgressLine(not quiet),
            cache=cache,
            jobs=default_jobs(),
            inputs=inputs,
        )
    except BuildError as error:
        print_errors(error)
        raise Stop(EXIT_ERRORS) from error
    except OutputError as error:
        print(f"sitegen: {error}; nothing was deployed", file=sys.stderr)
        raise Stop(EXIT_ERRORS) from error
    if not quiet:
        print(f"Built {len(result.files)} files into {out} in {time.monotonic() - started:.2f} s")
    return out


def deploy(
    shell: Shell,
    out: Path,
    new: Published,
    keep: int,
    args: argparse.Namespace,
    bandwidth_limit: int,
) -> int:
    target = shell.target
    folder = releases.probe(shell)
    releases.check_usable(folder, shell)
    if folder.state in ("missing", "empty"):
        say(args.quiet, f"Setting up {target} for deploys")
        releases.set_up(shell)
    with deploy_lock(shell):
        folder = releases.probe(shell)  # again: another deploy may have finished meanwhile
        releases.check_usable(folder, shell)
        releases.clean_leftovers(shell)
        gone = broken_urls(releases.live_manifest(shell), new)
        if gone and not args.allow_removed:
            print(refusal(gone, str(target)), file=sys.stderr)
            return EXIT_ERRORS
        release = folder.new_id()
        say(args.quiet, f"Uploading {out} to {target} as release {release} ...")
        line = UploadLine(not args.quiet)
        partial = f".partial-{release}"
        sent = upload(shell, out, partial, folder.current, bandwidth_limit, line)
        line.done()
        releases.switch(shell, release, partial)
        after = DeployFolder("sitegen", (*folder.releases, release), release)
        stale = after.to_remove(keep, release)
        try:
            releases.remove(shell, stale)
        except DeployError as error:  # the new release is live: only the clean-up failed
            print(f"sitegen deploy: warning: old releases not removed: {error}", file=sys.stderr)
    for item in gone:
        print(f"sitegen deploy: removed on purpose: {item.url}", file=sys.stderr)
    say(
        args.quiet,
        f"Deployed release {release} to {target} ({plural(sent, 'file')} uploaded, the rest "
        f"unchanged; {plural(len(after.releases) - len(stale), 'release')} kept)",
    )
    return EXIT_OK


def dry_run(shell: Shell, out: Path, new: Published, allow_removed: bool) -> int:
    folder = releases.probe(shell)
    releases.check_usable(folder, shell)
    live = folder.current is not None
    if folder.state in ("missing", "empty"):
        print(f"{shell.target} is not set up yet: the first deploy sets it up")
    found = changes(shell, out, live)
    for label, paths in (
        ("added", found.added),
        ("changed", found.changed),
        ("removed", found.removed),
    ):
        for path in paths:
            print(f"{label:8} {path}")
    print(
        f"Dry run: a deploy to {shell.target} would add {len(found.added)}, change "
        f"{len(found.changed)} and remove {len(found.removed)} files; nothing was changed"
    )
    gone = broken_urls(releases.live_manifest(shell), new) if live else []
    if gone and not allow_removed:
        print(refusal(gone, str(shell.target)), file=sys.stderr)
        return EXIT_ERRORS
    for item in gone:
        print(f"would remove on purpose: {item.url}")
    return EXIT_OK


def rollback(shell: Shell, dry_run: bool, quiet: bool) -> int:
    folder = releases.probe(shell)
    releases.check_usable(folder, shell)
    if folder.current is None:
        raise DeployError(f"{shell.target} has no live release to roll back")
    with deploy_lock(shell):
        folder = releases.probe(shell)
        previous = folder.previous()
        if previous is None:
            raise DeployError(
                f"{shell.target} has no release before {folder.current} to go back to"
            )
        if dry_run:
            print(f"Dry run: --rollback would switch {shell.target} to release {previous}")
            return EXIT_OK
        releases.switch(shell, previous)
    say(quiet, f"Rolled back {shell.target} to release {previous} (was {folder.current})")
    return EXIT_OK


def reload_server(shell: Shell, command: str, quiet: bool) -> None:
    """Run [deploy] reload_command where the target is; the release is live either way."""
    if not command.strip():
        return
    try:
        shell.run(command)
    except DeployError as error:
        print(f"sitegen deploy: warning: reload_command failed: {error}", file=sys.stderr)
        return
    say(quiet, f"Ran {command!r}")


def say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, flush=True)
