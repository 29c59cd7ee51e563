"""Render: one route through Jinja2 into an output file (bytes), collecting template errors.

steps.render_site renders every route of a site, memoized and in parallel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jinja2

from sitegen.errors import ErrorList
from sitegen.model import Site
from sitegen.routes import Route, output_path
from sitegen.templating import template_error

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderedFile:
    """A file of the built site: `path` inside output/, and its exact bytes."""

    path: str
    data: bytes


def render_route(
    env: jinja2.Environment, route: Route, site: Site, errors: ErrorList
) -> RenderedFile | None:
    """The file of one route, or None (with the error collected) when its template fails."""
    try:
        template = env.get_template(route.template)
        text = template.render(route.context, current_url=route.dest)
    except Exception as exc:  # a template can fail in any way; report it at its line
        templates = site.config.path("templates")
        errors.errors.append(template_error(exc, templates, site.config.root, route.dest))
        return None
    data = route.finish(text) if route.finish else text.encode("utf-8")
    return RenderedFile(output_path(route.dest), data)
