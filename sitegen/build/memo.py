"""Parse and render, memoized by the digest of their inputs and spread over the cores.

A parsed document is keyed by its bytes, its path and kind, and the Markdown settings; a
rendered page by everything its template can read: the template files, the globals the
templates use (config, site, helper functions with what they close over), the route's
destination, template and context. `code_version()` is part of every key through the cache
folder, so changed code never reuses an old result. Nothing here lists dependencies by hand.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jinja2
from jinja2 import meta

from sitegen.build.cache import BuildCache
from sitegen.build.digest import Fingerprints, digest_bytes
from sitegen.build.inputs import source_digests
from sitegen.build.parallel import map_items
from sitegen.config import Config
from sitegen.content.load import SourceFile, StaticFile
from sitegen.content.markdown import MarkdownRenderer
from sitegen.content.model import Site, check_fields
from sitegen.content.parse import ParsedDoc, parse_source
from sitegen.errors import ErrorList, SiteError
from sitegen.render.files import Progress, RenderedFile, assemble, render_route
from sitegen.render.routes import Route, output_path, site_routes
from sitegen.render.templating import make_environment, site_globals

_renderers: dict[bool, MarkdownRenderer] = {}


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's compiled-template cache, where a damaged file is a miss rather than an error."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:
            bucket.reset()


def markdown_renderer(safe_html: bool) -> MarkdownRenderer:
    """The process's one Markdown instance per setting (forked workers inherit them)."""
    if safe_html not in _renderers:
        _renderers[safe_html] = MarkdownRenderer(safe_html=safe_html)
    return _renderers[safe_html]


def parse_sources(
    sources: list[SourceFile],
    config: Config,
    errors: ErrorList,
    cache: BuildCache | None = None,
    jobs: int = 1,
    digests: list[bytes] | None = None,
) -> list[ParsedDoc]:
    """Every source parsed, in order; sources with errors are left out (errors collected).

    `digests` are the sources' `inputs.source_digests()` when the caller has them already.
    """
    keys: list[bytes] = [b""] * len(sources)
    if cache:
        settings = Fingerprints().of(config.markdown)
        digests = digests or source_digests(sources)
        keys = [digest_bytes(b"parse", settings, digest) for digest in digests]
    parts: list[tuple[Any, ...] | None] = [
        cache.get("parse", key) if cache else None for key in keys
    ]
    missing = [index for index, found in enumerate(parts) if found is None]

    def parse(number: int) -> tuple[tuple[Any, ...] | None, list[SiteError]]:
        local = ErrorList()
        assert renderer is not None
        doc = parse_source(sources[missing[number]], renderer, local)
        if doc is None:
            return None, local.errors
        return _doc_parts(dataclasses.replace(doc, checked=check_fields(doc))), local.errors

    # Made here, before any fork, and only when something is to be parsed.
    renderer = markdown_renderer(config.markdown.safe_html) if missing else None
    for number, (doc_parts, found) in enumerate(map_items(parse, len(missing), jobs)):
        errors.extend(found)
        index = missing[number]
        parts[index] = doc_parts
        if cache and doc_parts is not None:
            cache.put("parse", keys[index], doc_parts)
    if cache:
        cache.keep("parse", keys)
    pairs = zip(sources, parts, strict=True)
    return [ParsedDoc(source, *found) for source, found in pairs if found]


def _doc_parts(doc: ParsedDoc) -> tuple[Any, ...]:
    """A parsed document without its source bytes (the key already stands for them)."""
    return tuple(getattr(doc, item.name) for item in dataclasses.fields(doc)[1:])


def render_site(
    site: Site,
    static: list[StaticFile],
    errors: ErrorList,
    progress: Progress | None = None,
    cache: BuildCache | None = None,
    jobs: int = 1,
    templates: bytes = b"",
    prints: Fingerprints | None = None,
) -> list[RenderedFile]:
    """Every file of the site in a stable order; `templates` is the digest of the theme.

    `prints` may already know the fingerprints of the model's objects (see build_site).
    """
    env = make_environment(site.config)
    env.globals.update(site_globals(site))
    if cache and cache.folder:  # compiled templates, checked against their source by Jinja
        env.bytecode_cache = _BytecodeCache(str(cache.templates_folder()))
    routes = site_routes(site)
    if cache:
        cache.forget_digests()
    prints = prints or Fingerprints()
    keys = _route_keys(env, routes, templates, cache, prints) if cache else [None] * len(routes)
    pages: list[RenderedFile | None] = [None] * len(routes)
    missing: list[int] = []
    for index, key in enumerate(keys):
        found = cache.get("render", key) if cache and key else None
        if isinstance(found, tuple):  # (bytes, digest of them)
            cache.remember_digest(*found)  # type: ignore[union-attr]
            pages[index] = RenderedFile(_path_of(routes[index]), found[0])
        else:
            missing.append(index)

    def render(number: int) -> tuple[RenderedFile | None, list[SiteError]]:
        local: dict[SiteError, list[str]] = {}
        return render_route(env, routes[missing[number]], site, local), list(local)

    for name in sorted({routes[index].template for index in missing}):
        try:  # compiled once here, before any fork
            env.get_template(name)
        except Exception:  # reported where the page is rendered
            continue
    failures: dict[SiteError, list[str]] = {}  # one template fault -> the pages it broke
    for number, (page, found) in enumerate(map_items(render, len(missing), jobs)):
        index = missing[number]
        for fault in found:
            failures.setdefault(fault, []).append(routes[index].dest)
        pages[index] = page
        key = keys[index]
        if cache and key and page is not None:
            cache.put("render", key, (page.data, cache.digest_of(page.data)))
        if progress:
            progress(number + 1, len(missing))
    if cache:
        cache.keep("render", [key for key in keys if key])
    return assemble(static, routes, pages, failures, errors)


def _path_of(route: Route) -> str:
    return output_path(route.dest)


def _route_keys(
    env: jinja2.Environment,
    routes: list[Route],
    templates: bytes,
    cache: BuildCache,
    prints: Fingerprints,
) -> list[Any]:
    """The memo key of each route, or None where its context cannot be fingerprinted."""
    used = cache.get("globals", templates)
    if not isinstance(used, set):
        used = _template_globals(env)
        cache.put("globals", templates, used)
        cache.keep("globals", [templates])
    try:
        shared = prints.of({name: env.globals[name] for name in sorted(used)})
    except TypeError:
        return [None] * len(routes)
    keys: list[Any] = []
    for route in routes:
        try:
            context = prints.of((route.dest, route.template, route.context, route.finish))
        except TypeError:
            keys.append(None)
            continue
        keys.append(digest_bytes(b"render", templates, shared, context))
    return keys


def _template_globals(env: jinja2.Environment) -> set[str]:
    """Names of globals any template of the theme refers to (all of them if one won't parse)."""
    assert env.loader is not None
    probe = env.overlay()
    probe.globals = {}  # Jinja counts a name as declared when it is a global
    used: set[str] = set()
    for name in env.list_templates(filter_func=lambda n: not n.startswith("static/")):
        try:
            source = env.loader.get_source(env, name)[0]
            used |= meta.find_undeclared_variables(probe.parse(source))
        except Exception:  # a broken template is reported when rendered; assume it reads all
            return set(env.globals)
    return used & set(env.globals)
