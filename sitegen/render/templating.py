"""The Jinja2 environment of a site: autoescape, StrictUndefined, Danish filters."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup

from sitegen.config import Config
from sitegen.errors import SiteError
from sitegen.render import head as sharing
from sitegen.render import pictures

if TYPE_CHECKING:
    from sitegen.content.model import Site


@functools.cache
def danish_months() -> tuple[str, ...]:
    """The twelve month names of Babel's Danish locale (CLDR) as a date shows them: "januar"...

    Babel and its locale data take ~20 ms to load, more than rendering the pages of one edit:
    a build asks its cache for these names first (see build/memo.py), and Babel only if the
    cache has none.
    """
    from babel.dates import get_month_names

    names = get_month_names("wide", "format", locale="da")
    return tuple(str(names[month]) for month in range(1, 13))


def danish_date(value: dt.date, style: str = "long", months: Sequence[str] = ()) -> str:
    """'14. maj 2013' (long, Babel's "d. MMMM y") or '14.05.2013' (short, "dd.MM.y") in
    Danish, with the month names `months` (default: Babel's)."""
    if style != "long":
        return f"{value.day:02}.{value.month:02}.{value.year}"
    return f"{value.day}. {(months or danish_months())[value.month - 1]} {value.year}"


def make_environment(
    config: Config, assets: tuple[tuple[str, str], ...] = (), months: Sequence[str] = ()
) -> jinja2.Environment:
    """An environment whose filters know the site's base URL and the hashed asset names.

    `assets` pairs each plain asset URL with its hashed one. `asset` is a filter, not a
    global: the names follow from the theme's files, which every page's cache key covers.
    `months`: the Danish month names, when the caller has them (else Babel's are loaded).
    """
    templates = config.path("templates")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=jinja2.select_autoescape(["html", "xml", "htm"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # an environment lives for one build: no stat per include
    )

    dates = functools.partial(danish_date, months=tuple(months))
    env.filters["dato"] = dates
    env.filters["danish_date"] = dates
    env.filters["iso"] = lambda value: value.isoformat()
    known_assets = dict(assets)

    # Filters that read the config or the theme's files are marked pass_context: Jinja would
    # otherwise work out `'/om/'|url` once, when it compiles the template, and the compiled
    # template (cached by its source alone) would keep an old base_url.
    @jinja2.pass_context
    def asset(context: jinja2.runtime.Context, path: str) -> str:
        return known_assets.get(path, path)

    @jinja2.pass_context
    def url(context: jinja2.runtime.Context, path: str) -> str:
        return config.href(path)

    @jinja2.pass_context
    def absolute_url(context: jinja2.runtime.Context, path: str) -> str:
        return config.absolute_url(path)

    env.filters["url"] = url
    env.filters["absolute_url"] = absolute_url

    env.filters["asset"] = asset
    env.globals["url"] = config.href
    env.globals["absolute_url"] = config.absolute_url
    env.globals["Markup"] = Markup
    sharing.register(env, config)
    pictures.register(env)
    return env


def template_error(exc: Exception, templates: Path, root: Path) -> SiteError:
    """Locate a template failure at its template path:line."""
    path, line = "", 0
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        path, line = exc.filename, exc.lineno or 0
    else:
        path, line = _template_frame(exc.__traceback__, templates)
    if path:
        with contextlib.suppress(ValueError):
            path = Path(path).resolve().relative_to(root.resolve()).as_posix()
    else:
        path = templates.relative_to(root).as_posix() if templates.is_relative_to(root) else ""
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, jinja2.TemplateNotFound):  # its message holds the absolute search path
        folder = templates.relative_to(root) if templates.is_relative_to(root) else templates
        message = f"no template {exc.name!r} in {folder.as_posix()}/"
    return SiteError(path, line, "", f"{type(exc).__name__}: {message}")


def _template_frame(tb: TracebackType | None, templates: Path) -> tuple[str, int]:
    """The innermost traceback frame that belongs to a template file."""
    found = ("", 0)
    folder = str(templates.resolve())
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(folder) or filename.endswith((".html", ".xml", ".txt")):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def site_globals(site: Site) -> dict[str, object]:
    """What every template may read besides its route's context (the same for every page)."""
    # Templates read content through their route's context, not the whole site: a global
    # they use is part of every page's cache key, so one edit would re-render every page.
    return {
        "site": site,
        "config": site.config,
        "has_newsletter_issues": bool(site.newsletter_issues),
    }
