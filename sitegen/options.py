"""Build options (drafts, future cases, today's date): a light module the CLI can import cheaply."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class BuildOptions:
    drafts: bool = False
    future: bool = False
    today: dt.date = dt.date(1970, 1, 1)


def build_date() -> dt.date:
    """Today, or the day of SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.date.today()


def default_options(drafts: bool = False, future: bool = False) -> BuildOptions:
    return BuildOptions(drafts=drafts, future=future, today=build_date())
