"""What a page's head tells browsers, search engines and link previews: CSP and JSON-LD."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from sitegen.config import Config
from sitegen.content.model import Case
from sitegen.render.feeds import cases_feed_url, issues_feed_url
from sitegen.render.routes import SEARCH_FILTERS, SEARCH_URL

# Inside <script>, '</script>' or '<!--' in a string would end or derail the element; JSON
# allows these characters escaped, so the data keeps its meaning.
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(data: Any) -> Markup:
    """JSON that is safe as the text of a <script> element."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=None)
    return Markup(text.translate(_SCRIPT_SAFE))


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def content_security_policy(
    config: Config, images: Iterable[str | None] = (), forms: Iterable[str] = ()
) -> str:
    """The page's policy: everything from the site itself; outside images only where named.

    `images` are the page's own outside pictures (a case's `image` URL). Forms may post to the
    site, to the signup address (the subscription service's, when there is one) and to
    `forms` (the site, on the service's own pages). Pagefind compiles its WebAssembly inside
    its worker, which this policy does not govern, so no 'wasm-unsafe-eval' is needed.
    """
    image_origins = sorted({o for url in images if url and (o := _origin(url))})
    if config.subscribers.url:  # exactly its signup address (CSP matches a path given in full)
        signup: str | None = config.subscribers.endpoint("tilmeld")
    else:
        signup = _origin(config.newsletter.signup_url)
    targets = sorted({o for url in forms if (o := _origin(url)) and o != signup})
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src " + " ".join(["'self'", *image_origins]),
        "connect-src 'self'",
        "worker-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "form-action " + " ".join(["'self'", *([signup] if signup else []), *targets]),
        "base-uri 'self'",
    ]
    return "; ".join(directives)


def article_data(
    case: Case, config: Config, absolute_url: Callable[[str], str], image: str | None = None
) -> dict[str, Any]:
    """schema.org Article data of a case (https://schema.org/Article).

    `image` is the case's share picture, when its image has one.
    """
    publisher = {"@type": "Organization", "name": config.site.title, "url": absolute_url("/")}
    authors = [
        publisher if name == config.site.title else {"@type": "Person", "name": name}
        for name in case.authors
    ] or [publisher]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": case.title,
        "description": case.lead,
        "datePublished": case.date.isoformat(),
        "dateModified": case.modified.isoformat(),
        "inLanguage": config.site.language,
        "url": absolute_url(case.url),
        "mainEntityOfPage": absolute_url(case.url),
        "author": authors,
        "publisher": publisher,
        "about": [case.municipality.name, *(tag.name for tag in case.tags)],
    }
    if image or case.image:
        data["image"] = absolute_url(image or case.image or "")
    return data


def register(env: jinja2.Environment, config: Config) -> None:
    """Make the head helpers available to every template."""
    absolute_url: Callable[[str], str] = env.globals["absolute_url"]  # type: ignore[assignment]
    env.filters["script_json"] = script_json
    env.globals["search_url"] = SEARCH_URL
    env.globals["search_filters"] = SEARCH_FILTERS
    env.globals["cases_feed_url"] = cases_feed_url(config)
    env.globals["issues_feed_url"] = issues_feed_url(config)
    env.globals["content_security_policy"] = lambda images=(): content_security_policy(
        config, images
    )
    env.globals["article_json_ld"] = lambda case, image=None: script_json(
        article_data(case, config, absolute_url, image)
    )
