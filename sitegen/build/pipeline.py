"""The whole pipeline on one screen: load -> parse -> model -> render -> write."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sitegen.build.cache import BuildCache
from sitegen.build.digest import Fingerprints
from sitegen.build.inputs import Inputs, inputs_digest, load_inputs, templates_digest
from sitegen.build.memo import parse_sources, render_site
from sitegen.config import Config
from sitegen.content.load import StaticFile
from sitegen.content.model import Site, build_site
from sitegen.errors import ErrorList
from sitegen.options import BuildOptions, build_date, default_options
from sitegen.output.records import write_tracked
from sitegen.output.write import OutputError, WriteReport, write_output
from sitegen.render.files import Progress, RenderedFile


@dataclass(frozen=True)
class BuildResult:
    site: Site
    files: list[RenderedFile]
    report: WriteReport | None = None


def build_files(
    root: Path,
    options: BuildOptions,
    progress: Progress | None = None,
    cache: BuildCache | None = None,
    jobs: int = 1,
    inputs: Inputs | None = None,
) -> BuildResult:
    """Build the site in memory. Raises BuildError with every error found.

    `cache` memoizes parsing and rendering across builds (BuildCache.for_site(root) on disk,
    BuildCache.in_memory() for a server); `jobs` processes share the work of a cold build.
    """
    inputs = inputs or load_inputs(root)
    config, errors = inputs.config, ErrorList()
    errors.extend(inputs.errors.errors)
    with collector_paused():
        digests = inputs.source_digests() if cache else None
        docs = parse_sources(inputs.sources, config, errors, cache, jobs, digests)
        prints = Fingerprints()
        by_path = (
            {s.path: d for s, d in zip(inputs.sources, digests, strict=True)} if digests else None
        )
        site = build_site(docs, config, options, asset_urls(inputs.static), errors, prints, by_path)
        errors.raise_if_any()
        theme = templates_digest(inputs)
        files = render_site(site, inputs.static, errors, progress, cache, jobs, theme, prints)
        errors.raise_if_any()
        if config.search.enabled:
            from sitegen.render.search import with_search_index  # a site without search skips it

            files = with_search_index(files, config.site.language, errors, cache)
    errors.raise_if_any()
    return BuildResult(site, files)


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
    inputs = inputs or load_inputs(root)
    target = (out or inputs.config.path("output")).absolute()
    if not inputs.errors:  # a bad config is reported as such by build_files
        check_output_folder(inputs.config, target)  # before anything (the cache too) is written
    result = build_files(root, options, progress, cache, jobs, inputs)
    with collector_paused():
        if cache is None:
            report = write_output(result.files, target)
        else:
            digest = inputs_digest(inputs, options, target)
            report = write_tracked(result.files, target, cache, digest)
    return BuildResult(result.site, result.files, report)


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


__all__ = [
    "BuildCache",
    "BuildResult",
    "Config",
    "build",
    "build_date",
    "build_files",
    "default_options",
]
