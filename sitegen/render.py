"""Render: routes through Jinja2 into output files (bytes), collecting template errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jinja2

from sitegen.errors import ErrorList
from sitegen.load import StaticFile
from sitegen.model import Site
from sitegen.routes import Route, output_path, site_routes
from sitegen.templating import make_environment, template_error

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RenderedFile:
    """A file of the built site: `path` inside output/, and its exact bytes."""

    path: str
    data: bytes


def render_site(
    site: Site,
    static: list[StaticFile],
    errors: ErrorList,
    progress: Progress | None = None,
) -> list[RenderedFile]:
    """Every file of the site, in a stable order; duplicates of a path are errors."""
    env = make_environment(site.config)
    env.globals.update(site=site, config=site.config)
    routes = site_routes(site)
    files = {item.dest: RenderedFile(item.dest, item.data) for item in static}
    for done, route in enumerate(routes, start=1):
        rendered = _render(env, route, site, errors)
        if rendered is not None:
            files[rendered.path] = rendered
        if progress:
            progress(done, len(routes))
    return [files[path] for path in sorted(files)]


def _render(
    env: jinja2.Environment, route: Route, site: Site, errors: ErrorList
) -> RenderedFile | None:
    try:
        template = env.get_template(route.template)
        text = template.render(route.context, current_url=route.dest)
    except Exception as exc:  # a template can fail in any way; report it at its line
        templates = site.config.path("templates")
        errors.errors.append(template_error(exc, templates, site.config.root, route.dest))
        return None
    data = route.finish(text) if route.finish else text.encode("utf-8")
    return RenderedFile(output_path(route.dest), data)
