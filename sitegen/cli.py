"""The `sitegen` command line: a table of commands, each a module with add_NAME and run_NAME.

Exit 0 on success, 1 on errors in content or templates, 2 on usage. A command's module is
imported only when that command runs (or for --help), so `sitegen build` stays quick.
"""

from __future__ import annotations

import os
import sys
import time

from sitegen import __version__

# `sitegen build` with nothing to do stops at its stamp before anything else is imported:
# argparse, dataclasses (with inspect and ast) and the config module would cost more than the
# whole check in a fresh virtualenv.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import ModuleType


class Command:
    """`sitegen NAME`: `module` declares its options in add_NAME and carries it out in run_NAME."""

    __slots__ = ("help", "module", "name")

    def __init__(self, name: str, help: str, module: str) -> None:
        self.name, self.help, self.module = name, help, module

    def __repr__(self) -> str:
        return f"Command({self.name!r}, {self.help!r}, {self.module!r})"

    def load(self) -> ModuleType:
        import importlib

        return importlib.import_module(self.module)


COMMANDS = (
    Command("build", "build the site into output/", "sitegen.build.command"),
    Command("serve", "build and serve the site, rebuilding on every save", "sitegen.serve.server"),
    Command("new", 'create a content file: new case|page|newsletter "Titel"', "sitegen.new"),
    Command(
        "check",
        "check the site for errors and editorial problems without writing output/",
        "sitegen.check.command",
    ),
    Command("newsletter", "send a newsletter issue by e-mail", "sitegen.newsletter.send"),
    Command(
        "deploy",
        "publish output/ to a folder or a server as a new release, switched atomically",
        "sitegen.deploy.command",
    ),
    Command(
        "subscribers",
        "run the subscription service; list, export, import or remove subscribers",
        "sitegen.subscribers.command",
    ),
)


def make_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the command `only` (importing just its module)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="sitegen",
        description="Build the Center for Borgerdialog site and newsletter from Markdown.",
    )
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = subparsers.add_parser(
            command.name, help=command.help, description=command.help.capitalize()
        )
        if only in (None, command.name):
            module = command.load()
            getattr(module, f"add_{command.name}")(sub)
            sub.set_defaults(run=getattr(module, f"run_{command.name}"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["build"]:  # before anything else is imported: nothing may have changed
        from sitegen.build.stamp import up_to_date

        found = up_to_date(words[1:], os.getcwd())
        if found is not None:
            files, out, quiet = found
            if not quiet:
                print(f"Up to date: {files} files in {out} ({time.monotonic() - started:.2f} s)")
            return 0
    from sitegen.arguments import EXIT_USAGE
    from sitegen.errors import UsageError

    named = {command.name for command in COMMANDS}
    parser = make_parser(words[0] if words and words[0] in named else None)
    args = parser.parse_args(words)
    args.words = words[1:]  # as typed, for `sitegen build`'s stamp
    args.exiting = argv is None  # the command line itself: the process ends with the command
    try:
        result: int = args.run(args)
    except UsageError as error:
        print(f"sitegen: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("sitegen: interrupted", file=sys.stderr)
        return 130
    return result
