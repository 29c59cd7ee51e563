"""The last build's model, kept so that an edit to the body of a case is patched into it.

A build that makes its model from every source keeps it in the build cache: the site and its
routes, pickled with each case as a reference to the cases pickled before them, with each
route's cache key and the cases that key depends on (`Fingerprints.traced`). A later build
whose sources differ from that model's only in the bodies of published cases (front matter
byte for byte the same, no image and no link the old body did not have, no problem) loads it,
makes the changed cases again from their new bodies, and works out the keys of only the
routes that show them; the other routes keep their keys and their pages come from the cache
as before. Anything else (a file added, moved or removed; the config, options, templates or
static files; front matter; any problem) makes the model from every source again.

The cases remade since the model was kept whole go to a small delta record beside it, so
that an edit does not write the whole model again; past MAX_PATCHED of them, the next build
makes the model whole again.
"""

from __future__ import annotations

import copyreg
import io
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sitegen.build.digest import Fingerprints, Sources, digest_bytes, digest_files
from sitegen.build.inputs import Inputs
from sitegen.config import BuildOptions, Config
from sitegen.content.load import SourceFile
from sitegen.content.markdown import RenderedMarkdown
from sitegen.content.model import CARD_FIELDS, Body, Case, CaseCard, LinkLookup, Site
from sitegen.content.parse import ParsedDoc
from sitegen.content.site import remade_case
from sitegen.errors import SiteError
from sitegen.render.files import Route
from sitegen.render.pictures import Picture, attach_pictures
from sitegen.render.routes import PRODUCERS, Span

MODEL_RECORD = "model"  # the build cache's record of the last model made from every source
DELTA_RECORD = "model-delta"  # the cases remade since, and the keys that changed with them
MAX_PATCHED = 64  # cases remade since the model was kept whole; more, and it is made whole
RECORD_PROTOCOL = pickle.HIGHEST_PROTOCOL
# A case's body as kept: RenderedMarkdown's arguments, its links' hrefs and its lookups.
Row = tuple[tuple[Any, ...], dict[str, str], tuple[LinkLookup, ...]]


@dataclass(frozen=True)
class Kept:
    """A model as a build made it from every source, and what its routes' keys depend on."""

    token: bytes  # names this model; a delta belongs to the model with its token
    frame: bytes  # frame_of(): everything but the content sources
    digests: dict[str, bytes]  # every content source's digest, by path
    fronts: dict[str, bytes]  # the digest of each case's front matter, by source path
    prints: dict[str, tuple[bytes, bytes]]  # each case's card and case fingerprint, by source
    keys: list[bytes | None]  # each route's cache key
    depends: list[Sources]  # each route's key: the cases it depends on (None: unknown)
    spans: list[Span]  # each producer's routes and the bodies it read to make them
    shared: bytes  # the fingerprint of the globals the templates read
    left_out: tuple[SiteError, ...]  # problems of the drafts the build left out
    graph: tuple[bytes, bytes]  # each case's body (`_row`); the site, its routes (`_GraphPickler`)


@dataclass(frozen=True)
class Delta:
    """The cases remade since the model `token` was kept, and what changed with them."""

    token: bytes
    digests: dict[str, bytes] = field(default_factory=dict)
    rows: dict[str, Row] = field(default_factory=dict)  # source -> the case's body (`_row`)
    prints: dict[str, bytes] = field(default_factory=dict)  # source -> its case fingerprint
    keys: dict[int, bytes | None] = field(default_factory=dict)  # route number -> its key


@dataclass(frozen=True)
class Made:
    """What a build that made its model from every source has to keep of its routes."""

    routes: list[Route]
    keys: list[bytes | None]
    depends: list[Sources]
    spans: list[Span]
    shared: tuple[bytes, Sources]
    prints: dict[str, tuple[bytes, bytes]]


class Patched:
    """The kept model with the changed cases remade: its site at once, its routes and their
    keys once the pictures are known (`routes_and_keys`), and the delta to keep after."""

    def __init__(
        self,
        kept: Kept,
        delta: Delta,
        site: Site,
        routes: list[Route],
        remade: dict[str, Case],
        prints: Fingerprints,
        digests: dict[str, bytes],
    ) -> None:
        self.kept, self.site, self.remade, self.prints = kept, site, remade, prints
        self._routes, self._delta, self._digests = routes, delta, digests
        self.left_out = kept.left_out
        self.delta = delta

    def routes_and_keys(
        self, pictures: Mapping[str, Picture], templates: bytes
    ) -> tuple[list[Route], list[bytes | None]] | None:
        """Every route and its key: the routes of a producer that read a remade body made
        again, and the keys of those and of the routes that show a remade case worked out
        again. None when a producer made other pages than before."""
        kept, routes, site = self.kept, list(self._routes), self.site
        keys = list(kept.keys)
        for number, key in self._delta.keys.items():
            keys[number] = key
        stale: set[int] = set()
        for producer, start, end, read in kept.spans:
            if read.isdisjoint(self.remade):
                continue
            made = attach_pictures(list(PRODUCERS[producer](site)), site, pictures)
            if [_listed(route) for route in made] != [_listed(r) for r in routes[start:end]]:
                return None
            routes[start:end] = made
            stale.update(range(start, end))
        for number, depends in enumerate(kept.depends):
            if depends is None or not depends.isdisjoint(self.remade):
                stale.add(number)
        new_keys: dict[int, bytes | None] = {}
        for number in sorted(stale):
            new_keys[number] = keys[number] = route_key(
                routes[number], templates, kept.shared, self.prints
            )
        self.delta = replace(
            self._delta,
            digests=self._delta.digests | {path: self._digests[path] for path in self.remade},
            rows=self._delta.rows | {path: _row(case) for path, case in self.remade.items()},
            prints=self._delta.prints
            | {path: self.prints.of(case) for path, case in self.remade.items()},
            keys=self._delta.keys | new_keys,
        )
        return routes, keys


def frame_of(inputs: Inputs, options: BuildOptions, prints: Fingerprints) -> bytes:
    """The digest of what a model is made from besides the content sources' bytes: the config,
    the options (today's date too), the theme, the static files and which sources there are."""
    static = zip(inputs.static, inputs.static_digests(), strict=True)
    listed = "\n".join(f"{source.kind}:{source.path}" for source in inputs.sources)
    return digest_bytes(
        prints.of((inputs.config, options)),
        inputs.theme_digest(),
        digest_files((f"{item.source}>{item.dest}", digest) for item, digest in static),
        listed.encode("utf-8", "surrogatepass"),
    )


def case_print(case: Case, source_digest: bytes, config_print: bytes) -> bytes:
    """A case's fingerprint by what made it: its source, slug, URL, the config and every
    lookup it made (no body is hashed)."""
    made_of = pickle.dumps((case.slug, case.url, config_print, case.links + case.body_links))
    return digest_bytes(b"case", source_digest, made_of)


def keep(
    frame: bytes,
    inputs: Inputs,
    docs: list[ParsedDoc],
    site: Site,
    made: Made,
    left_out: tuple[SiteError, ...],
) -> Kept | None:
    """The model of a build made from every source, to keep; None when it cannot be patched
    later (the globals the templates read hold cases, a case is not where it is looked for,
    or it does not pickle)."""
    if made.shared[1] is None or made.shared[1]:
        return None
    cases = {case.source: case for case in site.cases}
    cards = {card.source: card for card in site.cards}
    if not (cases.keys() == made.prints.keys() == cards.keys()):
        return None
    try:
        rows = pickle.dumps({path: _row(case) for path, case in cases.items()}, RECORD_PROTOCOL)
        graph = (rows, _pickled((site, made.routes), site.config, cases))
    except Exception:  # a function that does not pickle; a case or body not in `cases`
        return None
    paths = [source.path for source in inputs.sources]
    return Kept(
        token=os.urandom(8),
        frame=frame,
        digests=dict(zip(paths, inputs.source_digests(), strict=True)),
        fronts={doc.source.path: doc.front_matter for doc in docs if doc.source.path in cases},
        prints=made.prints,
        keys=made.keys,
        depends=made.depends,
        spans=made.spans,
        shared=made.shared[0],
        left_out=left_out,
        graph=graph,
    )


def patch(
    kept: Kept,
    delta: Delta | None,
    frame: bytes,
    inputs: Inputs,
    parse: Callable[[SourceFile, bytes], ParsedDoc | None],
) -> Patched | None:
    """The kept model with the changed cases remade, or None where it cannot be patched."""
    if kept.frame != frame:
        return None
    if delta is None or delta.token != kept.token:
        delta = Delta(kept.token)
    before = kept.digests | delta.digests
    now = dict(zip((s.path for s in inputs.sources), inputs.source_digests(), strict=True))
    if now.keys() != before.keys():
        return None
    changed = [source for source in inputs.sources if now[source.path] != before[source.path]]
    if len(changed) + len(delta.rows) > MAX_PATCHED:
        return None
    config = inputs.config
    rows: dict[str, Row] = pickle.loads(kept.graph[0]) | delta.rows
    cards: dict[str, CaseCard] = {}
    cases: dict[str, _KeptCase] = {path: _KeptCase(path, rows, cards) for path in rows}
    site, routes = _unpickled(kept.graph[1], config, cases)
    cards.update((card.source, card) for card in site.cards)
    remade: dict[str, Case] = {}
    for source in changed:
        old, front = cases.get(source.path), kept.fronts.get(source.path)
        doc = parse(source, front) if old is not None and front is not None else None
        if old is None or doc is None or doc.front_matter != front:
            return None
        new = remade_case(doc, old, config)
        if new is None:
            return None
        old.become(new)  # every reference to the case in the site and its routes sees it
        remade[source.path] = old
    prints = Fingerprints()
    config_print = prints.of(config)
    case_prints = {path: pair[1] for path, pair in kept.prints.items()} | delta.prints
    for path, case in remade.items():
        case_prints[path] = case_print(case, now[path], config_print)
    for card in site.cards:
        prints.remember(card, kept.prints[card.source][0])
    for path, case in cases.items():
        prints.remember(case, case_prints[path], (path,))
    return Patched(kept, delta, site, routes, remade, prints, now)


def route_key(route: Route, templates: bytes, shared: bytes, prints: Fingerprints) -> bytes | None:
    """The memo key of a route's page, or None where its context cannot be fingerprinted."""
    return traced_route_key(route, templates, shared, prints)[0]


def traced_route_key(
    route: Route, templates: bytes, shared: bytes, prints: Fingerprints
) -> tuple[bytes | None, Sources]:
    """route_key() and the cases it depends on."""
    try:
        context, depends = prints.traced((route.dest, route.template, route.context, route.finish))
    except TypeError:
        return None, None
    return digest_bytes(b"render", templates, shared, context), depends


def _listed(route: Route) -> tuple[Any, ...]:
    """What the sitemap and the server's files read of a route."""
    return route.dest, route.template, route.source, route.lastmod, route.context.get("target")


def _pickled(value: object, config: Config, cases: dict[str, Case]) -> bytes:
    """`value` pickled with the config and each of `cases` by reference (_GraphPickler)."""
    buffer = io.BytesIO()
    _GraphPickler(buffer, config, cases).dump(value)
    return buffer.getvalue()


def _row(case: Case) -> Row:
    """What a case has besides its card: its body as parsed (the arguments RenderedMarkdown is
    pickled with, of its references only the images: `remade_case` looks for those, and a
    patched build reads no other), the hrefs of its links and its body's lookups."""
    html, headings, references = case.body.markdown.__reduce__()[1]
    images = tuple(reference for reference in references if reference.image)
    return (html, headings, images), dict(case.body.urls), case.body_links


def _unpickled(data: bytes, config: Config, cases: Mapping[str, Case]) -> Any:
    unpickler = _GraphUnpickler(io.BytesIO(data), config)
    unpickler.cases = cases
    return unpickler.load()


class _KeptCase(Case):
    """A case of a kept model, made when first looked at from its card and its body's row:
    a patched build shows few of its cases, and making a thousand of them would cost more
    than the rest of its model."""

    def __init__(self, source: str, rows: dict[str, Row], cards: dict[str, CaseCard]) -> None:
        vars(self)["_kept"] = (source, rows, cards)  # not the dataclass's __init__: no fields

    def __getattr__(self, name: str) -> Any:  # a field not set yet: all of them are set now
        state = vars(self)
        if "_kept" not in state or name.startswith("__"):
            raise AttributeError(name)
        source, rows, cards = state.pop("_kept")
        markdown, urls, body_links = rows[source]
        card = cards[source]
        state.update({name: getattr(card, name) for name in CARD_FIELDS})
        state.update(body=Body(RenderedMarkdown(*markdown), urls, source), body_links=body_links)
        return getattr(self, name)

    def become(self, case: Case) -> None:
        """Hold `case`'s fields from now on."""
        state = vars(self)
        state.clear()
        state.update(vars(case))

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("a kept case is not pickled again")


def _config() -> None:
    """Stands in for the site's config in a kept model (the build's own is put back)."""


def _case(source: str) -> None:
    """Stands in for a case inside a kept model's site and routes (the case is put back)."""


class _GraphPickler(pickle.Pickler):
    """Pickles a site and its routes with the config and each of `cases` by reference; a body
    outside its case, or a case not in `cases`, is refused (its changes could not be traced).
    The reducers are looked up by type, in C, so that only those objects cost a call."""

    def __init__(self, file: io.BytesIO, config: Config, cases: dict[str, Case]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = copyreg.dispatch_table | {
            type(config): lambda value: (_config, ()) if value is config else NotImplemented,
            Case: lambda case: _case_reference(case, cases),
            Body: _no_body,
        }


def _case_reference(case: Case, cases: dict[str, Case]) -> tuple[Any, ...]:
    if cases.get(case.source) is not case:
        raise ValueError(f"a case outside the site's cases: {case.source}")
    return _case, (case.source,)


def _no_body(body: Body) -> tuple[Any, ...]:
    raise ValueError(f"a body outside its case: {body.source}")


class _GraphUnpickler(pickle.Unpickler):
    """Unpickles what _GraphPickler made, with the build's config and the cases in `cases`."""

    def __init__(self, file: io.BytesIO, config: Config) -> None:
        super().__init__(file)
        self.config = config
        self.cases: Mapping[str, Case] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_config":
            return lambda: self.config
        if module == __name__ and name == "_case":
            return self.cases.__getitem__
        return super().find_class(module, name)
