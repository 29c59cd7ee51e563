"""The whole pipeline on one screen: load -> parse -> model -> render -> search -> write.

Each stage is a function over plain data; `Memo` runs the expensive ones (parse, render,
search) memoized by the digest of their inputs and spread over the cores.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sitegen.build.cache import BuildCache
from sitegen.build.inputs import SOURCES_RECORD, Inputs, inputs_digest, load_inputs
from sitegen.build.memo import Memo, Unpatchable
from sitegen.build.snapshot import Patched
from sitegen.config import BuildOptions, Config
from sitegen.content.load import StaticFile
from sitegen.content.model import Site
from sitegen.content.parse import ParsedDoc
from sitegen.content.site import build_site, left_out_drafts
from sitegen.errors import BuildError, ErrorList, SiteError
from sitegen.output.published import GoneUrl, gone_since, read_published
from sitegen.output.write import OutputError, WriteReport, write_output, write_tracked
from sitegen.render.files import Progress, RenderedFile


@dataclass(frozen=True)
class BuildResult:
    site: Site
    files: list[RenderedFile]
    report: WriteReport | None = None
    left_out: tuple[SiteError, ...] = ()  # problems in drafts this build leaves out
    gone: tuple[GoneUrl, ...] = ()  # URLs the previous output had and this build has not


@dataclass(frozen=True)
class Model:
    """What load, parse and model made of a site, with every error they found."""

    inputs: Inputs
    docs: list[ParsedDoc]  # every content file that parses
    site: Site
    errors: tuple[SiteError, ...]
    left_out: tuple[SiteError, ...] = ()  # problems in drafts this build leaves out


def build_files(
    root: Path,
    options: BuildOptions,
    progress: Progress | None = None,
    cache: BuildCache | None = None,
    jobs: int = 1,
    inputs: Inputs | None = None,
    search: bool = True,
) -> BuildResult:
    """Build the site in memory. Raises BuildError with every error found.

    `cache` memoizes parsing, rendering and the search index across builds
    (BuildCache.for_site(root) on disk, BuildCache.in_memory() for a server); `jobs`
    processes share the work of a cold build. `search=False` leaves the search index out
    (the dev server makes it after showing the pages, with update_search).
    """
    inputs = inputs or load_inputs(root, cache)  # load
    memo = Memo(inputs, cache, jobs, progress)
    with collector_paused():
        patched = memo.patched_model(options)  # the last model, where only bodies changed
        if patched is not None:
            with contextlib.suppress(Unpatchable):
                return _made_files(memo, options, patched.site, [], patched, search)
        model = load_model(inputs, options, memo)  # parse, model
        if model.errors:
            raise BuildError(model.errors)
        return _made_files(memo, options, model.site, model.docs, model, search)


def _made_files(
    memo: Memo,
    options: BuildOptions,
    site: Site,
    docs: list[ParsedDoc],
    made: Model | Patched,
    search: bool,
) -> BuildResult:
    """Render, index and keep what the build made of `site` (from `made`: a whole model, or
    the last one patched)."""
    inputs, cache = memo.inputs, memo.cache
    patched = made if isinstance(made, Patched) else None
    errors = ErrorList()
    images = memo.image_plan(site, errors)  # each image's copies and pictures
    copies = [] if errors else memo.image_files(images, errors)  # encoded on every core
    files = memo.render(site, docs, errors, images.pictures, copies, patched)  # render
    errors.raise_if_any()
    if search and inputs.config.search.enabled:
        files = memo.search(files, errors)  # search index
    errors.raise_if_any()
    if cache is not None:  # which sources the next build need not read, and its model
        keep_source_record(cache, inputs)
        memo.keep_model(options, docs, site, made.left_out, patched)
    return BuildResult(site, files, None, made.left_out)


def keep_source_record(cache: BuildCache, inputs: Inputs) -> None:
    """Save each source's stat and digest for the next build, if they are news."""
    record = inputs.source_record()
    if cache.load_record(SOURCES_RECORD) != record:
        cache.save_record(SOURCES_RECORD, record)


def build(
    root: Path,
    options: BuildOptions,
    out: Path | None = None,
    progress: Progress | None = None,
    cache: BuildCache | None = None,
    jobs: int = 1,
    inputs: Inputs | None = None,
) -> BuildResult:
    """Build the site and swap it into the output folder; on any error output/ is untouched."""
    inputs = inputs or load_inputs(root, cache)
    target = (out or inputs.config.path("output")).absolute()
    if not inputs.errors:  # a bad config is reported as such by build_files
        check_output_folder(inputs.config, target)  # before anything (the cache too) is written
    try:
        result = build_files(root, options, progress, cache, jobs, inputs)
        previous = read_published(target)  # what the output about to be replaced publishes
        with collector_paused():  # write
            if cache is None:
                report = write_output(result.files, target)
            else:
                report = write_tracked(
                    result.files, target, cache, inputs_digest(inputs, options, target)
                )
    finally:
        if cache is not None:
            cache.settle()  # the records written beside the build
    gone = gone_since(previous, result.files)
    return BuildResult(result.site, result.files, report, result.left_out, tuple(gone))


def load_model(inputs: Inputs, options: BuildOptions, memo: Memo | None = None) -> Model:
    """Parse every source and assemble the site; errors are collected, not raised."""
    memo = memo or Memo(inputs)
    errors = ErrorList()
    errors.extend(inputs.errors.errors)
    docs = memo.parse(errors)
    site = build_site(docs, inputs.config, options, asset_urls(inputs.static), errors)
    drafts = left_out_drafts(docs, options)
    found = sorted(set(errors.errors))
    kept = tuple(error for error in found if error.path not in drafts)
    return Model(inputs, docs, site, kept, tuple(error for error in found if error.path in drafts))


def load_site(root: Path, options: BuildOptions, cache: BuildCache | None = None) -> Site:
    """The site's model, without rendering a page: for commands that need content only."""
    inputs = load_inputs(root)
    model = load_model(inputs, options, Memo(inputs, cache))
    if model.errors:
        raise BuildError(model.errors)
    return model.site


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a build makes millions of long-lived objects.

    Every collection would walk all of them again (a third of the model stage at 10,000
    cases); reference counting still frees the rest, and the collector resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_output_folder(config: Config, out: Path) -> None:
    """Refuse an output folder that would replace the site or any of its sources."""
    target = out.resolve()
    if config.root.resolve().is_relative_to(target):
        raise OutputError(f"{out} holds the site itself; choose an output folder inside it")
    for name in ("content", "templates", "static"):
        source = config.path(name).resolve()
        if target.is_relative_to(source) or source.is_relative_to(target):
            raise OutputError(
                f"{out} overlaps the site's {name} folder; choose another output folder"
            )


def asset_urls(static: list[StaticFile]) -> dict[str, str]:
    """Site-root source path of every copied file -> its URL in the built site."""
    return {"/" + item.source: "/" + item.dest for item in static} | {
        "/" + item.dest: "/" + item.dest for item in static
    }
