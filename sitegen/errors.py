"""One error type for everything an editor can get wrong: `path:line: field: message`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class SiteError:
    """A problem in a source file, located at the line an editor has to fix."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        if not where:  # a problem of the build as a whole (the search index, say)
            return f"{self.field}: {self.message}" if self.field else self.message
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class BuildError(Exception):
    """Raised when a build finds errors; carries all of them, sorted by place."""

    def __init__(self, errors: Iterable[SiteError]) -> None:
        self.errors = sorted(set(errors))
        super().__init__("\n".join(str(error) for error in self.errors))


class ErrorList:
    """Collects errors across a stage so that a build reports every error at once."""

    def __init__(self) -> None:
        self.errors: list[SiteError] = []

    def add(self, path: str, line: int, field: str, message: str) -> None:
        self.errors.append(SiteError(path, line, field, message))

    def extend(self, errors: Iterable[SiteError]) -> None:
        self.errors.extend(errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise BuildError(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)


class UsageError(Exception):
    """A problem with how sitegen was called (exit 2)."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'title'?)' for the closest known name, else ''."""
    import difflib  # only when there is a name to suggest

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def plural(count: int, word: str) -> str:
    """'1 error', '3 errors'."""
    return f"{count} {word}{'s' if count != 1 else ''}"
