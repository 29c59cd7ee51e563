"""The whole pipeline on one screen: load -> parse -> model -> render -> write."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from sitegen.config import Config, load_config
from sitegen.errors import ErrorList
from sitegen.load import StaticFile, load_sources, load_static
from sitegen.markup import MarkdownRenderer
from sitegen.model import BuildOptions, Site, build_site
from sitegen.parse import parse_source
from sitegen.render import Progress, RenderedFile, render_site
from sitegen.search import with_search_index
from sitegen.write import OutputError, WriteReport, write_output


@dataclass(frozen=True)
class BuildResult:
    site: Site
    files: list[RenderedFile]
    report: WriteReport | None = None


def build_files(root: Path, options: BuildOptions, progress: Progress | None = None) -> BuildResult:
    """Build the site in memory. Raises BuildError with every error found."""
    errors = ErrorList()
    config = load_config(root, errors)
    sources = load_sources(config, errors)
    static = load_static(config, errors)
    renderer = MarkdownRenderer(safe_html=config.markdown.safe_html)
    docs = [doc for source in sources if (doc := parse_source(source, renderer, errors))]
    site = build_site(docs, config, options, asset_urls(static), errors)
    errors.raise_if_any()
    files = render_site(site, static, errors, progress)
    errors.raise_if_any()
    files = with_search_index(files, config.site.language, errors)
    errors.raise_if_any()
    return BuildResult(site, files)


def build(
    root: Path,
    options: BuildOptions,
    out: Path | None = None,
    progress: Progress | None = None,
) -> BuildResult:
    """Build the site and swap it into the output folder; on any error output/ is untouched."""
    result = build_files(root, options, progress)
    target = out or result.site.config.path("output")
    check_output_folder(result.site.config, target)
    report = write_output(result.files, target)
    return BuildResult(result.site, result.files, report)


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


def build_date() -> dt.date:
    """Today, or the day of SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.date.today()


def default_options(drafts: bool = False, future: bool = False) -> BuildOptions:
    return BuildOptions(drafts=drafts, future=future, today=build_date())


__all__ = ["BuildResult", "Config", "build", "build_files", "default_options"]
