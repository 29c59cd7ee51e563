"""Published URLs stay: an alias page at each old URL, and what a web server needs to know.

A case or page lists its old URLs in `aliases`; each gets a small page that sends the reader
on (meta refresh, canonical, a visible link) and an entry in the redirect maps for nginx and
Caddy, so that a real server answers 301. `.sitegen/pages.json` lists every published URL with
the content file it shows: `sitegen build` and `sitegen deploy` compare it with the one already
published to find URLs that a change would break.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sitegen.content.model import Case, Page, Site
from sitegen.render.files import Route

REDIRECT_TEMPLATE = "redirect.html"
SERVER_FOLDER = "/.sitegen/"
PAGES_MANIFEST = SERVER_FOLDER + "pages.json"
NGINX_MAP = SERVER_FOLDER + "redirects.nginx.map"
CADDY_REDIRECTS = SERVER_FOLDER + "redirects.caddy"


def alias_pages(site: Site) -> Iterator[Route]:
    """A redirect page at every old URL of a published case or page."""
    shown: list[Case | Page] = [*site.cases, *site.pages]
    for item in shown:
        for alias in item.aliases:
            context = {"target": item.url, "title": item.title}
            yield Route(alias, REDIRECT_TEMPLATE, context, source=item.source)


def is_published_url(route: Route) -> bool:
    """Pages, feeds and aliases are URLs others link to; assets and email files are not."""
    return route.template == REDIRECT_TEMPLATE or route.dest.endswith(("/", ".xml"))


def server_files(routes: Iterable[Route]) -> Iterator[Route]:
    """The list of published URLs and the redirect maps, over every other route."""
    routes = list(routes)
    redirects = {
        route.dest: route.context["target"]
        for route in routes
        if route.template == REDIRECT_TEMPLATE
    }
    pages = {route.dest: route.source or "" for route in routes if is_published_url(route)}
    manifest = {"urls": dict(sorted(pages.items())), "redirects": dict(sorted(redirects.items()))}
    ordered = sorted(redirects.items())
    yield Route(PAGES_MANIFEST, "server/pages.json", {"manifest": manifest})
    yield Route(NGINX_MAP, "server/redirects.nginx.map", {"redirects": ordered})
    yield Route(CADDY_REDIRECTS, "server/redirects.caddy", {"redirects": ordered})
