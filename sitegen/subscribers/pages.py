"""The service's pages, in the site's look: the site's own templates and theme assets.

Every page extends the theme's base.html through sitegen's Jinja2 environment, so header,
navigation, signup box and footer are the site's. Links to the site's pages are absolute (the
service runs on its own address); the theme's style sheet, fonts and icons are served by the
service itself, so the pages keep the site's strict Content-Security-Policy ('self' only).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jinja2

from sitegen.build.inputs import Inputs
from sitegen.config import Config, bundled_theme
from sitegen.content.model import Site
from sitegen.render.assets import hash_theme_assets
from sitegen.render.head import content_security_policy
from sitegen.render.templating import make_environment, site_globals

TEMPLATE = "subscription.html"
ASSET_PREFIX = "/static/"


@dataclass(frozen=True)
class Page:
    """One page the service shows: a heading, some paragraphs, perhaps one form with a button."""

    status: int
    heading: str
    paragraphs: tuple[str, ...] = ()
    button: str = ""  # a form with this button, posting to `action`
    action: str = ""
    hidden: tuple[tuple[str, str], ...] = ()
    stamp: str = ""  # the signed time the signup box's form carries


@dataclass(frozen=True)
class Asset:
    data: bytes
    media_type: str
    hashed: bool = False  # a content-hashed name: it never changes, so it may be cached long


@dataclass
class Pages:
    """Renders `Page`s with the site's templates; knows the theme's assets the pages link."""

    config: Config
    env: jinja2.Environment
    base_path: str  # the service's path, '/' or '/nyhedsbrev/'
    assets: dict[str, Asset] = field(default_factory=dict)  # path under base_path -> file

    @property
    def policy(self) -> str:
        """The site's policy; forms may also post to the site (its search box)."""
        return content_security_policy(self.config, forms=[self.config.site.base_url])

    def render(self, page: Page, current_url: str) -> str:
        template = self.env.get_template(TEMPLATE)
        return template.render(
            page=page,
            current_url=current_url,
            **({"form_stamp": page.stamp} if page.stamp else {}),
        )


def make_pages(config: Config, site: Site, inputs: Inputs) -> Pages:
    """The site's environment, with links made absolute and assets served by the service."""
    static, names = hash_theme_assets(inputs.static, config)
    base_path = urlsplit(config.subscribers.url).path or "/"
    base_path = base_path if base_path.endswith("/") else base_path + "/"
    env = make_environment(config, names)
    env.globals.update(site_globals(site))
    # A site with its own templates may predate the service's page: the bundled one then.
    env.loader = jinja2.ChoiceLoader(
        [env.loader or jinja2.BaseLoader(), jinja2.FileSystemLoader(str(bundled_theme()))]
    )
    # The theme's files under static/ (style sheet, script, fonts, icons), not the site's own.
    theme = f"{config.paths.templates}/static/"
    hashed = set(dict(names).values())
    assets = {
        item.dest: Asset(
            item.data,
            mimetypes.guess_type(item.dest)[0] or "application/octet-stream",
            "/" + item.dest in hashed,
        )
        for item in static
        if item.source.startswith(theme) and item.dest.startswith(ASSET_PREFIX.lstrip("/"))
    }

    def href(path: str) -> str:
        if path.startswith(ASSET_PREFIX) and path.lstrip("/") in assets:
            return base_path + path.lstrip("/")
        return config.absolute_url(path)

    pages = Pages(config, env, base_path, assets)
    env.globals["url"] = href
    env.filters["url"] = href
    env.globals["content_security_policy"] = lambda images=(): pages.policy
    return pages
