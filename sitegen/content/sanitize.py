"""Sanitize rendered Markdown for untrusted editors (`markdown.safe_html`), through nh3.

Keeps what Markdown makes (headings with ids, classes, tables, footnotes, links,
images, code) and the `sitegen:` link placeholders; drops scripts, event handlers,
iframes, forms, styles and every URL scheme but http(s), mailto and tel.
"""

from __future__ import annotations

import nh3

PLACEHOLDER_SCHEME = "sitegen"  # internal links wait as `sitegen:/content/...` until the model

_TAGS = set(nh3.ALLOWED_TAGS) | {"section", "figure", "figcaption"}
_GLOBAL_ATTRIBUTES = {"id", "class", "title", "lang", "dir"}
_ATTRIBUTES: dict[str, set[str]] = {
    tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()
} | {"*": _GLOBAL_ATTRIBUTES}
_ATTRIBUTES["a"] = _ATTRIBUTES.get("a", set()) | {"href", "hreflang"}
_ATTRIBUTES["img"] = _ATTRIBUTES.get("img", set()) | {"src", "alt", "width", "height"}
_ATTRIBUTES["th"] = _ATTRIBUTES.get("th", set()) | {"style"}  # tables' column alignment
_ATTRIBUTES["td"] = _ATTRIBUTES.get("td", set()) | {"style"}
_ATTRIBUTES["time"] = {"datetime"}
_SCHEMES = {"http", "https", "mailto", "tel", PLACEHOLDER_SCHEME}


def sanitize_html(html: str) -> str:
    """`html` with only harmless elements, attributes and URLs left."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel=None,
        strip_comments=True,
        filter_style_properties={"text-align"},
    )
