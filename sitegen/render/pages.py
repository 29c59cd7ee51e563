"""Render pages: routes through Jinja2 into output files (bytes), collecting template errors.

build/memo.py renders the routes of a site, memoized and in parallel, with these parts.
"""

from __future__ import annotations

from collections.abc import Sequence

import jinja2

from sitegen.config import CONFIG_FILE
from sitegen.content.load import StaticFile
from sitegen.content.model import Site
from sitegen.errors import ErrorList, SiteError, plural
from sitegen.render.files import RenderedFile, Route, output_path
from sitegen.render.pictures import promote_first_image
from sitegen.render.redirects import REDIRECT_TEMPLATE
from sitegen.render.templating import template_error


def assemble(
    static: list[StaticFile],
    routes: list[Route],
    pages: list[RenderedFile | None],
    failures: dict[SiteError, list[str]],
    errors: ErrorList,
    images: Sequence[tuple[str, RenderedFile]] = (),
) -> list[RenderedFile]:
    """Every file of the site, in a stable order; duplicates of a path are errors.

    `pages[i]` is the file of `routes[i]` (None where it failed); `failures` maps each
    template fault to the pages it broke, in route order. `images` are the copies of the
    image files, as (the source's path in output/, the copy): a source's clean copy takes
    its place.
    """
    files = {item.dest: RenderedFile(item.dest, item.data) for item in static}
    made_by = {item.dest: item.source for item in static}
    for made_from, image in images:
        source = made_by.get(made_from, made_from)
        if image.path != made_from and image.path in made_by:
            message = f"has the name of a copy of {source}; rename it"
            errors.errors.append(SiteError(made_by[image.path], 0, "", message))
        made_by.setdefault(image.path, source)
        files[image.path] = image
    for route, rendered in zip(routes, pages, strict=True):
        if rendered is not None:
            if rendered.path in made_by:
                errors.errors.append(_collision(rendered.path, made_by[rendered.path], route))
            made_by[rendered.path] = route.dest
            files[rendered.path] = rendered
    for fault, broken in failures.items():
        more = f" and {plural(len(broken) - 1, 'more page')}"
        rendering = f"rendering {broken[0]}{more if len(broken) > 1 else ''}"
        errors.add(fault.path, fault.line, fault.field, f"{fault.message} ({rendering})")
    return [files[path] for path in sorted(files)]


def _collision(path: str, first: str, route: Route) -> SiteError:
    """Two things would be written to one output file: report it where it can be fixed.

    `first` is a static file's source path, or the site path of the page written first.
    """
    if not first.startswith("/"):
        return SiteError(first, 0, "", f"is overwritten by the page {route.dest}; rename it")
    if route.template == REDIRECT_TEMPLATE and route.source:
        message = f"{route.dest} is the URL of a page of the site; an alias must be an old URL"
        return SiteError(route.source, 0, "aliases", message + " that no page has")
    source = route.source or CONFIG_FILE
    return SiteError(
        source,
        0,
        "",
        f"the pages {first} and {route.dest} would both be written to {path}; "
        "change a slug or a URL pattern",
    )


def render_route(
    env: jinja2.Environment, route: Route, site: Site, failures: dict[SiteError, list[str]]
) -> RenderedFile | None:
    """The file of one route, or None (with the fault noted in `failures`)."""
    try:
        template = env.get_template(route.template)
        text = template.render(route.context, current_url=route.dest)
    except Exception as exc:  # a template can fail in any way; report it at its line
        templates = site.config.path("templates")
        fault = template_error(exc, templates, site.config.root)
        failures.setdefault(fault, []).append(route.dest)
        return None
    if route.finish is None and route.template.endswith(".html"):
        text = promote_first_image(text)
    data = route.finish(text) if route.finish else text.encode("utf-8")
    return RenderedFile(output_path(route.dest), data)
