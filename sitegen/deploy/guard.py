"""Never break a published URL: compare the live release's URLs with the new site's."""

from __future__ import annotations

from sitegen.errors import plural
from sitegen.output.published import GoneUrl, Published, gone_urls, parse_published


def broken_urls(live: bytes, new: Published) -> list[GoneUrl]:
    """The live release's URLs that the new site lacks (none when nothing is live yet)."""
    published = parse_published(live) if live.strip() else None
    return gone_urls(published, new) if published is not None else []


def refusal(gone: list[GoneUrl], target: str) -> str:
    """The message of a deploy refused for the URLs it would break, one per line."""
    lines = [
        f"sitegen deploy: the new site would break {plural(len(gone), 'published URL')} "
        f"of {target}:"
    ]
    lines += [f"  {item.report('')}" for item in gone]
    lines.append(
        "Nothing was published. Add each old URL to the `aliases:` of the page that now has "
        "its content, or pass --allow-removed if the removal is deliberate."
    )
    return "\n".join(lines)
