"""The memo layer: build steps memoized by the digest of their inputs, spread over the cores.

The stages are plain functions over plain data (content/, render/); this module alone decides
what to keep between builds. A parsed document is keyed by its bytes, its path and kind, and
the Markdown settings; a rendered page by everything its template can read: the template
files, the globals the templates use (config, site, helper functions with what they close
over), the route's destination, template and context; the search index by the bytes of every
page. A case's fingerprint is the digest of what made it (its source, slug, URL, the config
and the link lookups the model recorded on it), so a case is never hashed whole. `code_version()`
is part of every key through the cache folder, so changed code never reuses an old result.
Nothing here lists dependencies by hand.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import jinja2
from jinja2 import meta

from sitegen.build.cache import BuildCache
from sitegen.build.digest import Fingerprints, digest_bytes
from sitegen.build.inputs import Inputs
from sitegen.build.parallel import map_items
from sitegen.content.markdown import MarkdownRenderer
from sitegen.content.model import Site
from sitegen.content.parse import ParsedDoc, parse_source
from sitegen.content.site import check_fields
from sitegen.errors import ErrorList, SiteError
from sitegen.render.files import Progress, RenderedFile, Route, output_path
from sitegen.render.pages import assemble, render_route
from sitegen.render.routes import site_routes
from sitegen.render.search import SearchIndexError, search_index
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


class Memo:
    """The memoized steps of one build over `inputs`: cache keys, fingerprints, jobs, progress.

    Without a cache every step simply runs; with one, a step runs only for what changed.
    """

    def __init__(
        self,
        inputs: Inputs,
        cache: BuildCache | None = None,
        jobs: int = 1,
        progress: Progress | None = None,
    ) -> None:
        self.inputs, self.cache, self.jobs, self.progress = inputs, cache, jobs, progress
        self.prints = Fingerprints()

    def parse(self, errors: ErrorList) -> list[ParsedDoc]:
        """Every source parsed (front matter checked too), in order; failures go to `errors`."""
        sources, config, cache = self.inputs.sources, self.inputs.config, self.cache
        keys: list[bytes] = [b""] * len(sources)
        if cache:
            settings = self.prints.of(config.markdown)
            keys = [digest_bytes(b"parse", settings, d) for d in self.inputs.source_digests()]
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
        for number, (doc_parts, found) in enumerate(map_items(parse, len(missing), self.jobs)):
            errors.extend(found)
            index = missing[number]
            parts[index] = doc_parts
            if cache and doc_parts is not None:
                cache.put("parse", keys[index], doc_parts)
        if cache:
            cache.keep("parse", keys)
        pairs = zip(sources, parts, strict=True)
        return [ParsedDoc(source, *found) for source, found in pairs if found]

    def render(self, site: Site, docs: list[ParsedDoc], errors: ErrorList) -> list[RenderedFile]:
        """Every file of the site (pages and static files) in a stable order."""
        cache = self.cache
        env = make_environment(site.config)
        env.globals.update(site_globals(site))
        if cache and cache.folder:  # compiled templates, checked against their source by Jinja
            env.bytecode_cache = _BytecodeCache(str(cache.templates_folder()))
        routes = site_routes(site)
        keys: list[Any] = [None] * len(routes)
        if cache:
            cache.forget_digests()
            self._remember_cases(site, docs)
            keys = _route_keys(env, routes, self.inputs.theme_digest(), cache, self.prints)
        pages: list[RenderedFile | None] = [None] * len(routes)
        missing: list[int] = []
        for index, key in enumerate(keys):
            found = cache.get("render", key) if cache and key else None
            if isinstance(found, tuple):  # (bytes, digest of them)
                cache.remember_digest(*found)  # type: ignore[union-attr]
                pages[index] = RenderedFile(output_path(routes[index].dest), found[0])
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
        for number, (page, found) in enumerate(map_items(render, len(missing), self.jobs)):
            index = missing[number]
            for fault in found:
                failures.setdefault(fault, []).append(routes[index].dest)
            pages[index] = page
            key = keys[index]
            if cache and key and page is not None:
                cache.put("render", key, (page.data, cache.digest_of(page.data)))
            if self.progress:
                self.progress(number + 1, len(missing))
        if cache:
            cache.keep("render", [key for key in keys if key])
        return assemble(self.inputs.static, routes, pages, failures, errors)

    def search(self, files: list[RenderedFile], errors: ErrorList) -> list[RenderedFile]:
        """The site's files plus its search index, in path order; a Pagefind failure is an error.

        The index is reused while every HTML page has the same bytes.
        """
        language = self.inputs.config.site.language
        try:
            index = self._search_index(files, language)
        except (SearchIndexError, OSError) as exc:
            error = exc.error if isinstance(exc, SearchIndexError) else None
            errors.errors.append(error or SiteError("", 0, "search", f"Pagefind: {exc}"))
            return files
        return sorted([*files, *index], key=lambda f: f.path)

    def _search_index(self, files: list[RenderedFile], language: str) -> list[RenderedFile]:
        cache = self.cache
        if cache is None:
            return search_index(files, language)
        pages = sorted((f for f in files if f.path.endswith(".html")), key=lambda f: f.path)
        key = digest_bytes(
            b"search",
            language.encode(),
            *(p.path.encode() + cache.digest_of(p.data) for p in pages),
        )
        found = cache.get("search", key)
        if not isinstance(found, list):
            found = search_index(pages, language)
            cache.put("search", key, found)
        cache.keep("search", [key])
        return found

    def _remember_cases(self, site: Site, docs: list[ParsedDoc]) -> None:
        """Fingerprint each case and card by what made it, so no body is hashed again.

        A case: its source's digest, slug, URL, the config and every lookup it made; a card:
        its front matter, path, slug, URL, the config and its front matter's lookups.
        """
        digest_of = dict(
            zip((s.path for s in self.inputs.sources), self.inputs.source_digests(), strict=True)
        )
        front_of = {doc.source.path: doc for doc in docs}
        config = self.prints.of(site.config)
        for case, card in zip(site.cases, site.cards, strict=True):
            doc = front_of[case.source]
            front = pickle.dumps((doc.source.path, doc.source.kind, doc.front_matter))
            made_of = pickle.dumps((card.slug, card.url, config, card.links))
            self.prints.remember(card, digest_bytes(b"card", front, made_of))
            made_of = pickle.dumps((case.slug, case.url, config, case.links + case.body_links))
            self.prints.remember(case, digest_bytes(b"case", digest_of[case.source], made_of))


def _doc_parts(doc: ParsedDoc) -> tuple[Any, ...]:
    """A parsed document without its source bytes (the key already stands for them)."""
    return tuple(getattr(doc, item.name) for item in dataclasses.fields(doc)[1:])


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
