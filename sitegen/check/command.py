"""`sitegen check`: every error of a build without writing output/, plus editorial warnings.

Exit 1 on build errors; warnings only fail the check with --strict. `--external` also
requests every external link.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from sitegen.arguments import EXIT_ERRORS, EXIT_OK, add_site_arguments, site_root
from sitegen.build.cache import BuildCache
from sitegen.build.inputs import load_inputs
from sitegen.build.memo import Memo
from sitegen.build.pipeline import load_model
from sitegen.check.editorial import check_docs
from sitegen.check.external import check_links, external_links
from sitegen.check.images import image_warnings
from sitegen.config import default_options
from sitegen.errors import ErrorList, SiteError, UsageError, plural
from sitegen.output.published import GoneUrl, gone_since, read_published
from sitegen.render.pictures import Picture


def as_warning(item: SiteError) -> str:
    where = f"{item.path}:{item.line}" if item.line else item.path
    field = f"{item.field}: " if item.field else ""
    return f"{where}: warning: {field}{item.message}"


def add_check(parser: argparse.ArgumentParser) -> None:
    add_site_arguments(parser)
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1)")
    parser.add_argument(
        "--external", action="store_true", help="also check that external http(s) links work"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long an external link may take to answer (default: 10)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="check every external link again, ignoring results from the last day",
    )


def run_check(args: argparse.Namespace) -> int:
    root = site_root(args)
    if args.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    options = default_options(drafts=args.drafts, future=args.future)
    inputs = load_inputs(root)
    memo = Memo(inputs, BuildCache.for_site(root))
    model = load_model(inputs, options, memo)  # the build's stages, without writing
    errors = sorted(set(model.errors))
    gone: list[GoneUrl] = []
    pictures: dict[str, Picture] = {}
    if not errors:  # unreadable images and template errors, as a build would find them
        rendering = ErrorList()
        pictures = memo.image_plan(model.site, rendering).pictures  # planned, not encoded
        files = memo.render(model.site, model.docs, rendering, pictures)
        errors = sorted(set(rendering.errors))
        previous = read_published(inputs.config.path("output"))
        gone = gone_since(previous, files)
    config, docs = inputs.config, model.docs
    featured = {case.source for issue in model.site.newsletter_issues for case in issue.cases}
    warnings = check_docs(docs, config, featured)
    sizes = {item.dest: (item.source, len(item.data)) for item in inputs.static}
    warnings += image_warnings(model.site.images, pictures, sizes)
    warnings += [  # a draft's problems do not stop a build that leaves it out: warn here
        replace(item, message=f"{item.message} (in a draft: fix it before publishing)")
        for item in model.left_out
    ]
    if args.external:
        links = external_links(docs)
        if not args.quiet:
            print(f"Checking {len(set(link.url for link in links))} external links ...", flush=True)
        for link, status in check_links(links, root, args.timeout, use_cache=not args.no_cache):
            message = f"{link.url} is broken: {status.detail}"
            warnings.append(SiteError(link.path, link.line, link.field, message))
        warnings.sort()
    for item in errors:
        print(item, file=sys.stderr)
    for item in warnings:
        print(str(item) if args.strict else as_warning(item), file=sys.stderr)
    for url in gone:  # compared with output/, which a build would replace
        print(url.report("" if args.strict else "warning"), file=sys.stderr)
    warnings_count = len(warnings) + len(gone)
    failed = bool(errors) or (args.strict and bool(warnings_count))
    if not args.quiet or failed:
        print(
            f"sitegen check: {plural(len(errors), 'error')}, {plural(warnings_count, 'warning')}"
            + (" (--strict: warnings count as errors)" if args.strict and warnings_count else ""),
            file=sys.stderr if failed else sys.stdout,
        )
    return EXIT_ERRORS if failed else EXIT_OK
