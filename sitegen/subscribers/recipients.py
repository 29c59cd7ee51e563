"""A list of recipients in a CSV file (a send's or an import's): addresses checked, by line."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from sitegen.errors import SiteError

ADDRESS_COLUMNS = ("email", "e-mail", "mail", "adresse", "address", "e-mailadresse")
NAME_COLUMNS = ("name", "navn")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str
    line: int


@dataclass(frozen=True)
class RecipientList:
    recipients: tuple[Recipient, ...]
    invalid: tuple[SiteError, ...]  # addresses that cannot be sent to, at their line
    duplicates: tuple[SiteError, ...]  # later lines of an address listed twice


def address_problem(address: str) -> str:
    """Why `address` cannot be used (empty when it can)."""
    if not address:
        return "no e-mail address on this line"
    if not address.isascii():
        return f"{address!r}: addresses with letters outside a-z (like æ, ø, å) are not supported"
    if len(address) > 254 or not _ADDRESS.fullmatch(address) or ".." in address:
        return f"{address!r} is not an e-mail address"
    return ""


def read_recipients(path: Path, shown_as: str) -> RecipientList:
    """Rows of a CSV file (',' ';' or tab) with an 'email' column, or addresses in column one."""
    text = path.read_bytes().decode("utf-8-sig")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], ",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(text.splitlines(), dialect))
    address_col, name_col, first = 0, None, 0
    if rows:
        header = [cell.strip().lower() for cell in rows[0]]
        found = [i for i, cell in enumerate(header) if cell in ADDRESS_COLUMNS]
        if found:
            address_col, first = found[0], 1
            name_col = next((i for i, cell in enumerate(header) if cell in NAME_COLUMNS), None)
    recipients: list[Recipient] = []
    invalid: list[SiteError] = []
    duplicates: list[SiteError] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[first:], start=first + 1):
        if not any(cell.strip() for cell in row):
            continue
        address = row[address_col].strip() if address_col < len(row) else ""
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        name = "".join(ch for ch in name if ch.isprintable())
        problem = address_problem(address)
        if problem:
            invalid.append(SiteError(shown_as, number, "email", problem))
        elif address.lower() in seen:
            duplicates.append(
                SiteError(
                    shown_as,
                    number,
                    "email",
                    f"{address} is already on line {seen[address.lower()]}; it gets one copy",
                )
            )
        else:
            seen[address.lower()] = number
            recipients.append(Recipient(address, name, number))
    return RecipientList(tuple(recipients), tuple(invalid), tuple(duplicates))
