"""Front matter schemas: which keys each content kind takes, their types, and checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sitegen.content.parse import CONTROL_CHARACTER, ParsedDoc
from sitegen.errors import ErrorList, did_you_mean

LEVELS = {
    "individ": "Individ-niveau",
    "lokalsamfund": "Lokalsamfunds-niveau",
    "kommune": "Kommune-niveau",
}


@dataclass(frozen=True)
class FieldSpec:
    """One front matter key: a converter that returns the value or raises ValueError."""

    convert: Callable[[Any], Any]
    required: bool = False
    default: Any = None


def text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"must be text, not {_describe(value)}")
    result = str(value).strip()
    if not result:
        raise ValueError("must not be empty")
    if match := CONTROL_CHARACTER.search(result):
        raise ValueError(
            f"must not contain the invisible control character U+{ord(match.group()):04X}"
        )
    return result


def single_line(value: Any) -> str:
    result = text(value)
    if "\n" in result or "\r" in result:
        raise ValueError("must be a single line")
    return result


def date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"must be a date like 2013-05-14, not {_describe(value)}")


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"must be true or false, not {_describe(value)}")


def text_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"must be a list, not {_describe(value)}")
    items = tuple(single_line(item) for item in value)
    return tuple(dict.fromkeys(items))


def level(value: Any) -> str:
    name = single_line(value).lower()
    if name not in LEVELS:
        raise ValueError(
            f"must be one of {', '.join(LEVELS)}, not {value!r}{did_you_mean(name, LEVELS)}"
        )
    return name


def slug(value: Any) -> str:
    from sitegen.content.slugs import slugify

    result = single_line(value)
    if slugify(result) != result:
        example = f", like {slugify(result)!r}" if slugify(result) else ""
        raise ValueError(f"must be lowercase a-z, 0-9 and '-'{example}")
    return result


def related(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise ValueError("must be a list of 'title' and 'url' pairs")
    links = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"title", "url"}:
            raise ValueError("each item needs exactly 'title' and 'url'")
        links.append((single_line(item["title"]), single_line(item["url"])))
    return tuple(links)


def alias_problem(path: str) -> str:
    """Why an old URL cannot be an alias (empty string when it is fine)."""
    if "://" in path or path.startswith("//") or not path.startswith("/"):
        return f"{path!r} is not a path on this site; write it like /cases/gammel-slug/"
    if any(part in (".", "..") for part in path.split("/")) or "//" in path:
        return f"{path!r} must not contain '.', '..' or '//' segments"
    if set(path) - set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./"):
        return f"{path!r} may only use a-z, A-Z, 0-9, '-', '_', '.' and '/'"
    if not path.endswith(("/", ".html")):
        return f"{path!r} must end with '/' (or '.html'), like /cases/gammel-slug/"
    return ""


def focus(value: Any) -> tuple[float, float]:
    """`[x, y]`: fractions of the width and height, from the top left (0.5, 0.5 is the centre)."""
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"must be [x, y], like [0.5, 0.3], not {_describe(value)}")
    point = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not 0 <= item <= 1:
            raise ValueError(
                f"must be two numbers from 0 to 1 (from the left and from the top), "
                f"like [0.5, 0.3], not {str(value)[:40]}"
            )
        point.append(float(item))
    return point[0], point[1]


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


CASE_FIELDS: dict[str, FieldSpec] = {
    "title": FieldSpec(single_line, required=True),
    "date": FieldSpec(date, required=True),
    "lead": FieldSpec(text, required=True),
    "municipality": FieldSpec(single_line, required=True),
    "level": FieldSpec(level, required=True),
    "tags": FieldSpec(text_list, default=()),
    "authors": FieldSpec(text_list, default=()),
    "related": FieldSpec(related, default=()),
    "image": FieldSpec(single_line),
    "image_alt": FieldSpec(single_line),
    "image_focus": FieldSpec(focus),
    "draft": FieldSpec(flag, default=False),
    "updated": FieldSpec(date),
    "slug": FieldSpec(slug),
    "aliases": FieldSpec(text_list, default=()),
}

SINCE_LAST = "since-last"


def case_references(value: Any) -> str | tuple[str, ...]:
    """`since-last`, or a list of case references (a Markdown path or a slug)."""
    if isinstance(value, str) and value.strip() == SINCE_LAST:
        return SINCE_LAST
    if not isinstance(value, list):
        raise ValueError(
            f"must be a list of cases (their .md paths or slugs) or {SINCE_LAST!r}, "
            f"not {_describe(value)}"
        )
    return tuple(single_line(item) for item in value)


PAGE_FIELDS: dict[str, FieldSpec] = {
    "title": FieldSpec(single_line, required=True),
    "lead": FieldSpec(text),
    "draft": FieldSpec(flag, default=False),
    "updated": FieldSpec(date),
    "slug": FieldSpec(slug),
    "aliases": FieldSpec(text_list, default=()),
}


NEWSLETTER_FIELDS: dict[str, FieldSpec] = {
    "title": FieldSpec(single_line, required=True),
    "date": FieldSpec(date, required=True),
    "preheader": FieldSpec(single_line),
    "cases": FieldSpec(case_references, default=()),
    "draft": FieldSpec(flag, default=False),
    "slug": FieldSpec(slug),
}


def validate(doc: ParsedDoc, spec: dict[str, FieldSpec], errors: ErrorList) -> dict[str, Any]:
    """Converted values for every key in `spec`; every problem goes to `errors`."""
    path = doc.source.path
    values: dict[str, Any] = {}
    for key, raw in doc.meta.items():
        line = doc.lines.get((key,), doc.start_line)
        if key not in spec:
            errors.add(path, line, key, f"unknown field{did_you_mean(key, spec)}")
            continue
        if raw is None:
            continue  # an empty value counts as missing, checked below
        try:
            values[key] = spec[key].convert(raw)
        except ValueError as exc:
            errors.add(path, _item_line(doc, key, raw), key, str(exc))
            values[key] = ...
    for key, field_spec in spec.items():
        if key not in values:
            if field_spec.required:
                errors.add(
                    path, doc.lines.get((key,), doc.start_line), key, "missing required field"
                )
            values[key] = field_spec.default
    return values


def _item_line(doc: ParsedDoc, key: str, raw: Any) -> int:
    """The line of the first bad list item when a list is at fault, else the key's line."""
    line = doc.lines.get((key,), doc.start_line)
    if isinstance(raw, list):
        for index, item in enumerate(raw):
            if isinstance(item, dict | list) and key != "related":
                return doc.lines.get((key, index), line)
    return line
