"""The memo layer: build steps memoized by the digest of their inputs, spread over the cores.

The stages are plain functions over plain data (content/, render/); this module alone decides
what to keep between builds. A parsed document is keyed by its bytes, its path and kind, and
the Markdown settings; a rendered page by everything its template can read: the template
files, the globals the templates use (config, site, helper functions with what they close
over), the route's destination, template and context; the search index is patched where the
digest of an indexed page changed. A case's fingerprint is the digest of what made it (its
source, slug, URL, the config and the link lookups the model recorded on it), so a case is never
hashed whole. `code_version()` is part of every key through the cache folder, so changed code
never reuses an old result.
Nothing here lists dependencies by hand.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import meta
from jinja2.compiler import CodeGenerator, Frame
from jinja2.idtracking import VAR_LOAD_RESOLVE

from sitegen.build.cache import BuildCache
from sitegen.build.digest import Fingerprints, Sources, digest_bytes
from sitegen.build.inputs import Inputs
from sitegen.build.parallel import map_items
from sitegen.build.snapshot import (
    DELTA_RECORD,
    MODEL_RECORD,
    Delta,
    Kept,
    Made,
    Patched,
    case_print,
    frame_of,
    keep,
    patch,
    traced_route_key,
)
from sitegen.config import BuildOptions
from sitegen.content.images import is_image_file
from sitegen.content.load import SourceFile, StaticFile
from sitegen.content.markdown import MarkdownRenderer
from sitegen.content.model import Site
from sitegen.content.parse import ParsedDoc, parse_source
from sitegen.content.site import check_fields
from sitegen.errors import ErrorList, SiteError
from sitegen.render.assets import hash_theme_assets
from sitegen.render.files import (
    Progress,
    RenderedFile,
    Route,
    StoredFile,
    StoredPage,
    output_path,
)
from sitegen.render.images import ImageInfo, ImageProblem, probe
from sitegen.render.indexed import has_indexed_region, indexable_pages
from sitegen.render.pages import assemble, render_route
from sitegen.render.pictures import Derivative, Picture, Plan, attach_pictures, make_copies, plan
from sitegen.render.routes import Span, site_routes
from sitegen.render.templating import danish_months, make_environment, site_globals

if TYPE_CHECKING:  # Pagefind's code is imported only when a build makes a search index
    from sitegen.render.search import HeadStart, SearchIndexError
    from sitegen.render.search_patch import SearchState

_renderers: dict[bool, MarkdownRenderer] = {}


class Unpatchable(Exception):
    """The patched model's routes could not be made as the kept ones were: build it whole."""


SEARCH_RECORD = "search-index"  # the build cache's record of the latest search index
# At most this many pages rendered anew, and Pagefind is started over them before the index's
# record is read (an edit's pages); more, and the build has other work than one small run.
HEAD_START_PAGES = 50


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's compiled-template cache, where a damaged file is a miss rather than an error."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:
            bucket.reset()


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory by a cache without a folder (`sitegen serve`), so
    that a rebuild does not compile every template again; Jinja checks each against its
    source."""

    def __init__(self, store: dict[str, tuple[str, Any]]) -> None:
        self.store = store  # bucket key -> (checksum of the source, code)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        found = self.store.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.code is not None:
            self.store[bucket.key] = (bucket.checksum, bucket.code)


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
        self._images: dict[str, _ImageSource] = {}  # by path inside output/
        self.made: Made | None = None  # what the last render made of a whole model

    def parse(self, errors: ErrorList) -> list[ParsedDoc]:
        """Every source parsed (front matter checked too), in order; failures go to `errors`."""
        sources, config, cache = self.inputs.sources, self.inputs.config, self.cache
        keys: list[bytes] = [b""] * len(sources)
        if cache:
            settings = self.prints.of(config.markdown)
            # The settings' digest and the source's side by side: both fixed-size, so no
            # two pairs make the same key, and a thousand sources are not hashed again.
            keys = [settings + d for d in self.inputs.source_digests()]
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

    def image_plan(self, site: Site, errors: ErrorList) -> Plan:
        """The copies of every image file and the pictures the pages show.

        Each file is read and checked once per version of its bytes; one that cannot be read
        is an error at every line that shows it (at the file itself when none does).
        """
        cache, images = self.cache, self._images
        theme = f"{self.inputs.config.paths.templates}/"
        static = zip(self.inputs.static, self.inputs.static_digests(), strict=True)
        for item, digest in static:  # the theme's own images are its business
            if is_image_file(item.dest) and not item.source.startswith(theme):
                images[item.dest] = _ImageSource(item, digest)
        sources = list(images.values())
        keys = [
            digest_bytes(b"probe", source.digest, source.file.dest.rsplit(".", 1)[-1].encode())
            for source in sources
        ]
        known = [cache.get("images", key) if cache else None for key in keys]
        missing = [index for index, found in enumerate(known) if found is None]

        def read(number: int) -> ImageInfo | str:
            item = sources[missing[number]].file
            try:
                return probe(item.data, item.dest)
            except ImageProblem as exc:
                return str(exc)

        for number, found in enumerate(map_items(read, len(missing), self.jobs, 2)):
            known[missing[number]] = found
            if cache and isinstance(found, ImageInfo):  # a problem is looked at again
                cache.put("images", keys[missing[number]], found)
        if cache:
            cache.keep("images", keys)
        for source, fact in zip(sources, known, strict=True):
            source.info = fact if isinstance(fact, ImageInfo) else None
            source.problem = fact if isinstance(fact, str) else ""
        shown_at: set[str] = set()
        for use in site.images:
            broken = images.get(use.file)
            if broken is not None and broken.problem:
                shown_at.add(use.file)
                message = f"{broken.file.source!r} {broken.problem}"
                errors.add(use.source, use.line, "image", message)
        for source in sources:
            if source.problem and source.file.dest not in shown_at:
                errors.add(source.file.source, 0, "", source.problem)
        infos = {source.file.dest: source.info for source in sources if source.info}
        return plan(site.images, infos, site.config.href)

    def image_files(self, image_plan: Plan, errors: ErrorList) -> list[tuple[str, RenderedFile]]:
        """Every copy of `image_plan` as (the source's path, the file), encoded on every core.

        Copies are kept in the cache by the digest of their source and their settings (the
        encoder settings and Pillow's version are code, covered by the cache folder's name),
        so only a new or changed image is encoded; on disk they stay there until written.
        """
        cache, images = self.cache, self._images
        made: dict[str, RenderedFile] = {}
        keys: dict[Derivative, bytes] = {}
        missing: dict[str, list[Derivative]] = {}
        for copy in image_plan.derivatives:
            source = images[copy.file]
            if copy.kind == "clean" and (source.info is None or source.info.clean):
                made[copy.path] = RenderedFile(copy.path, source.file.data)
                continue
            settings = pickle.dumps((copy.kind, copy.width, copy.height, copy.focus))
            key = keys[copy] = digest_bytes(b"copy", source.digest, settings)
            stored = cache.get("copies", key) if cache else None
            blob = cache.blob(key) if cache and stored else None
            if isinstance(stored, bytes) and blob is not None:
                made[copy.path] = _stored(copy.path, blob, stored)
            else:
                missing.setdefault(copy.file, []).append(copy)
        tasks = _image_tasks(missing, self.jobs)

        def encode(number: int) -> list[tuple[bytes, Path | bytes]] | str:
            file, copies = tasks[number]
            source = images[file]
            assert source.info is not None
            try:
                data = make_copies(source.file.data, source.info, copies)
            except (ImageProblem, OSError, ValueError) as exc:
                return f"cannot be converted: {exc}"
            pairs = zip(copies, data, strict=True)
            return [
                (digest_bytes(d), cache.store_blob(keys[c], d) if cache else d) for c, d in pairs
            ]

        for number, results in enumerate(map_items(encode, len(tasks), self.jobs, 1)):
            file, copies = tasks[number]
            if isinstance(results, str):
                errors.add(images[file].file.source, 0, "", results)
                continue
            for copy, (digest, kept) in zip(copies, results, strict=True):
                if cache and isinstance(kept, bytes):  # a worker's memory, or a failed write
                    kept = cache.store_blob(keys[copy], kept)
                made[copy.path] = _stored(copy.path, kept, digest)
                if cache:
                    cache.put("copies", keys[copy], digest)
        if cache:
            cache.keep("copies", keys.values())
            cache.keep_blobs(keys.values())
        derivatives = image_plan.derivatives
        return [(copy.file, made[copy.path]) for copy in derivatives if copy.path in made]

    def render(
        self,
        site: Site,
        docs: list[ParsedDoc],
        errors: ErrorList,
        pictures: dict[str, Picture] | None = None,
        images: list[tuple[str, RenderedFile]] | None = None,
        patched: Patched | None = None,
    ) -> list[RenderedFile]:
        """Every file of the site (pages, static files, image copies) in a stable order.

        `patched`: the site is the last build's model patched (`patched_model`), whose routes
        and their keys are known but where the remade cases show."""
        cache = self.cache
        static, assets = hash_theme_assets(self.inputs.static, site.config)
        env = make_environment(site.config, assets, self._danish_months())
        env.globals.update(site_globals(site))
        if cache and cache.folder:  # compiled templates, checked against their source by Jinja
            env.bytecode_cache = _BytecodeCache(str(cache.templates_folder()))
        elif cache:
            env.bytecode_cache = _MemoryBytecodeCache(cache.compiled_templates)
        planned = None
        if patched is not None:
            planned = patched.routes_and_keys(pictures or {}, self.inputs.theme_digest())
            if planned is None:
                raise Unpatchable
        if cache:
            cache.forget_digests()
            for item, digest in zip(self.inputs.static, self.inputs.static_digests(), strict=True):
                cache.remember_digest(item.data, digest)  # hashed once already, for the inputs
        if planned is not None:
            routes, keys = planned
        else:
            spans: list[Span] = []
            routes = attach_pictures(site_routes(site, spans), site, pictures or {})
            keys = [None] * len(routes)
            if cache:
                prints = self._remember_cases(site, docs)
                theme = self.inputs.theme_digest()
                keys, depends, shared = _route_keys(env, routes, theme, cache, self.prints)
                self.made = Made(routes, keys, depends, spans, shared, prints)
        pages: list[RenderedFile | None] = [None] * len(routes)
        missing: list[int] = []
        for index, key in enumerate(keys):
            stored = cache.get_page(key) if cache and key else None
            if stored is not None:
                pages[index] = StoredPage(output_path(routes[index].dest), *stored)
            else:
                missing.append(index)

        def render(number: int) -> tuple[RenderedFile | None, list[SiteError], bytes, bool]:
            """A page, its faults, and (for the cache, worked out on every core) the digest
            of its bytes and whether the search index reads it."""
            local: dict[SiteError, list[str]] = {}
            page = render_route(env, routes[missing[number]], site, local)
            if page is None or not cache:
                return page, list(local), b"", False
            indexed = page.path.endswith(".html") and has_indexed_region(page.data)
            return page, list(local), digest_bytes(page.data), indexed

        for name in sorted({routes[index].template for index in missing}):
            try:  # compiled once here, before any fork
                env.get_template(name)
            except Exception:  # reported where the page is rendered
                continue
        failures: dict[SiteError, list[str]] = {}  # one template fault -> the pages it broke
        rendered = map_items(render, len(missing), self.jobs)
        for number, (page, found, digest, indexed) in enumerate(rendered):
            index = missing[number]
            for fault in found:
                failures.setdefault(fault, []).append(routes[index].dest)
            pages[index] = page
            key = keys[index]
            if cache and page is not None:
                cache.remember_digest(page.data, digest)
                if key:
                    cache.put_page(key, page.data, digest, indexed)
            if self.progress:
                self.progress(number + 1, len(missing))
        if cache:
            cache.keep_pages([key for key in keys if key])
        return assemble(static, routes, pages, failures, errors, images or [])

    def _danish_months(self) -> tuple[str, ...]:
        """Babel's Danish month names, kept by the cache (whose folder changes with Babel's
        version), so that a build which renders a few pages need not load Babel."""
        if not self.cache:
            return danish_months()
        months = self.cache.get("locale", b"da-months")
        if not (isinstance(months, tuple) and len(months) == 12):
            months = danish_months()
            self.cache.put("locale", b"da-months", months)
        self.cache.keep("locale", [b"da-months"])
        return months

    def search(self, files: list[RenderedFile], errors: ErrorList) -> list[RenderedFile]:
        """The site's files plus its search index, in path order; a Pagefind failure is an error.

        With a cache, the previous index is patched where pages changed (render/search_patch.py)
        and reused whole while no indexed page changed.
        """
        cache = self.cache
        language = self.inputs.config.site.language
        from sitegen.render.search import HeadStart, SearchIndexError, search_index
        from sitegen.render.search_patch import SearchState

        head: HeadStart | None = None
        try:
            if cache and cache.has_record(SEARCH_RECORD):  # an index to patch: start Pagefind
                fresh = indexable_pages(f for f in files if type(f) is RenderedFile)  # new pages
                if 0 < len(fresh) <= HEAD_START_PAGES:
                    head = HeadStart(fresh, language, search_index)
            previous = cache.load_record(SEARCH_RECORD) if cache else None
            state = update_search(
                previous if isinstance(previous, SearchState) else None,
                files,
                language,
                cache.digest_of if cache else digest_bytes,
                kept=cache is not None,
                run=head or search_index,
            )
        except (SearchIndexError, OSError) as exc:
            errors.errors.append(search_error(exc))
            return files
        finally:
            if head is not None:
                head.close()
        if cache and state.indexed:
            cache.save_record(SEARCH_RECORD, state, later=True)  # beside the write
        return sorted([*files, *state.files], key=lambda f: f.path)

    def _remember_cases(self, site: Site, docs: list[ParsedDoc]) -> dict[str, tuple[bytes, bytes]]:
        """Fingerprint each case and card by what made it, so no body is hashed again; the
        fingerprints of each by source path.

        A case: its source's digest, slug, URL, the config and every lookup it made; a card:
        its front matter, path, slug, URL, the config and its front matter's lookups. A case
        is remembered with its source path, so that a page's key tells which cases it shows.
        """
        digest_of = dict(
            zip((s.path for s in self.inputs.sources), self.inputs.source_digests(), strict=True)
        )
        front_of = {doc.source.path: doc for doc in docs}
        config = self.prints.of(site.config)
        made: dict[str, tuple[bytes, bytes]] = {}
        for case, card in zip(site.cases, site.cards, strict=True):
            doc = front_of[case.source]
            front = pickle.dumps((doc.source.path, doc.source.kind, doc.front_matter))
            made_of = pickle.dumps((card.slug, card.url, config, card.links))
            card_print = digest_bytes(b"card", front, made_of)
            case_print_ = case_print(case, digest_of[case.source], config)
            self.prints.remember(card, card_print)
            self.prints.remember(case, case_print_, (case.source,))
            made[case.source] = (card_print, case_print_)
        return made

    def patched_model(self, options: BuildOptions) -> Patched | None:
        """The last build's model with the cases whose bodies alone changed remade, when
        that is all that changed (build/snapshot.py); else None."""
        cache = self.cache
        if cache is None or cache.folder is None or self.inputs.errors:
            return None
        kept = cache.load_record(MODEL_RECORD)
        if not isinstance(kept, Kept):
            return None
        delta = cache.load_record(DELTA_RECORD)
        frame = frame_of(self.inputs, options, self.prints)
        markdown = self.inputs.config.markdown

        def parse(source: SourceFile, front_matter: bytes) -> ParsedDoc | None:
            """The source parsed, its YAML not read again if it is `front_matter`."""
            errors = ErrorList()
            renderer = markdown_renderer(markdown.safe_html)
            doc = parse_source(source, renderer, errors, front_matter)
            return None if doc is None or errors else doc

        return patch(kept, delta if isinstance(delta, Delta) else None, frame, self.inputs, parse)

    def keep_model(
        self,
        options: BuildOptions,
        docs: list[ParsedDoc],
        site: Site,
        left_out: tuple[SiteError, ...],
        patched: Patched | None,
    ) -> None:
        """Keep the model of this build for the next one to patch (build/snapshot.py)."""
        cache = self.cache
        if cache is None or cache.folder is None:
            return
        if patched is not None:
            cache.save_record(DELTA_RECORD, patched.delta, later=True)
            return
        made, self.made = self.made, None
        frame = frame_of(self.inputs, options, self.prints)
        kept = keep(frame, self.inputs, docs, site, made, left_out) if made else None
        cache.save_record(MODEL_RECORD, kept, later=True)
        cache.save_record(DELTA_RECORD, None, later=True)


def update_search(
    state: SearchState | None,
    files: list[RenderedFile],
    language: str,
    digest_of: Callable[[bytes], bytes] = digest_bytes,
    kept: bool = True,
    run: Callable[[list[RenderedFile], str], list[RenderedFile]] | None = None,
) -> SearchState:
    """The search index of `files`: `state`'s index patched, or a new one (`state` itself is
    not changed). `kept`: the result will be patched later, so a new index is decoded now.
    `run`: Pagefind over some pages (search_index, the default, or a HeadStart)."""
    from sitegen.render.search import SEARCH_DIR, search_index
    from sitegen.render.search_patch import updated_state

    pages = indexable_pages(files)
    digests = {page.path: _digest(page, digest_of) for page in pages}
    return updated_state(state, pages, digests, language, SEARCH_DIR, run or search_index, kept)


def search_error(exc: SearchIndexError | OSError) -> SiteError:
    """The build error for a failed search step."""
    from sitegen.render.search import SearchIndexError

    if isinstance(exc, SearchIndexError):
        return exc.error
    return SiteError("", 0, "search", f"Pagefind: {exc}")


@dataclasses.dataclass
class _ImageSource:
    """An image file of the site during one build: its digest and what reading it found."""

    file: StaticFile
    digest: bytes
    info: ImageInfo | None = None
    problem: str = ""  # why it cannot be read, if it cannot


def _digest(page: RenderedFile, digest_of: Callable[[bytes], bytes]) -> bytes:
    """The digest of a file's bytes: the one it carries (a page from the cache), else worked out."""
    return page.digest if isinstance(page, StoredPage | StoredFile) else digest_of(page.data)


def _stored(path: str, kept: Path | bytes, digest: bytes) -> RenderedFile:
    return StoredFile(path, kept, digest) if isinstance(kept, Path) else RenderedFile(path, kept)


def _image_tasks(
    missing: dict[str, list[Derivative]], jobs: int
) -> list[tuple[str, list[Derivative]]]:
    """Copies to encode, grouped so that a task decodes its source once: by source when there
    are enough sources to keep every core busy, else by source and format."""
    if len(missing) >= jobs * 4:
        return list(missing.items())
    return [
        (file, [copy for copy in copies if copy.kind == kind])
        for file, copies in missing.items()
        for kind in dict.fromkeys(copy.kind for copy in copies)
    ]


def _doc_parts(doc: ParsedDoc) -> tuple[Any, ...]:
    """A parsed document without its source bytes (the key already stands for them)."""
    return tuple(getattr(doc, item.name) for item in dataclasses.fields(doc)[1:])


def _route_keys(
    env: jinja2.Environment,
    routes: list[Route],
    templates: bytes,
    cache: BuildCache,
    prints: Fingerprints,
) -> tuple[list[bytes | None], list[Sources], tuple[bytes, Sources]]:
    """The memo key of each route (None where its context cannot be fingerprinted) and the
    cases it depends on; the fingerprint of the globals the templates read, and its cases."""
    used = cache.get("globals", templates)
    if not isinstance(used, set):
        used = _template_globals(env)
        cache.put("globals", templates, used)
        cache.keep("globals", [templates])
    try:
        shared = prints.traced({name: env.globals[name] for name in sorted(used)})
    except TypeError:
        return [None] * len(routes), [None] * len(routes), (b"", None)
    keys: list[bytes | None] = []
    depends: list[Sources] = []
    for route in routes:
        key, cases = traced_route_key(route, templates, shared[0], prints)
        keys.append(key)
        depends.append(cases)
    return keys, depends, shared


def _template_globals(env: jinja2.Environment) -> set[str]:
    """Names of globals any template of the theme refers to (all of them if one won't compile).

    Every template is compiled here, once, before the workers fork (they would each compile
    the partials again), and the names are taken from the compiler as it goes; a template
    that Jinja's bytecode cache had already compiled is parsed for its names instead.
    """
    assert env.loader is not None
    found: dict[str, set[str]] = {}

    class Recording(CodeGenerator):
        def enter_frame(self, frame: Frame) -> None:
            super().enter_frame(frame)
            loads = frame.symbols.loads.values()
            found.setdefault(self.name or "", set()).update(
                param for action, param in loads if action == VAR_LOAD_RESOLVE
            )

    templates = env.list_templates(filter_func=lambda n: not n.startswith("static/"))
    compiler, env.code_generator_class = env.code_generator_class, Recording
    try:
        for name in templates:
            env.get_template(name)
    except Exception:  # a broken template is reported when rendered; assume it reads all
        return set(env.globals)
    finally:
        env.code_generator_class = compiler
    used: set[str] = set()
    probe = env.overlay()
    probe.globals = {}  # Jinja counts a name as declared when it is a global
    for name in templates:
        if name in found:
            used |= found[name]
            continue
        try:  # compiled in an earlier build
            used |= meta.find_undeclared_variables(probe.parse(env.loader.get_source(env, name)[0]))
        except Exception:
            return set(env.globals)
    return used & set(env.globals)
