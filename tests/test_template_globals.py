"""Which globals the theme's templates read: the part of every page's cache key that the
templates decide. Taken from Jinja's compiler while the templates are compiled once before
the workers fork, and from a parse of each template Jinja's bytecode cache already had."""

from __future__ import annotations

from pathlib import Path

import jinja2

from sitegen.build.memo import _BytecodeCache, _template_globals

TEMPLATES = {
    "base.html": "{{ site_title }}{% block body %}{% endblock %}{% include 'footer.html' %}",
    "page.html": "{% extends 'base.html' %}{% block body %}{{ href(page) }}{% endblock %}",
    "footer.html": "{% for item in menu %}{{ item }}{% endfor %}{{ unused_var }}",
    "macros.html": "{% macro card(x) %}{{ x }}{{ today }}{% endmacro %}",
    "plain.txt": "{% set site_title = 'shadowed' %}{{ site_title }}",
    "static/skipped.html": "{{ never_read }}",
}
GLOBALS = ("site_title", "href", "menu", "today", "never_read", "not_in_any")


def _environment(cache: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES))
    env.globals.update({name: name for name in GLOBALS})
    if cache is not None:
        env.bytecode_cache = _BytecodeCache(str(cache))
    return env


def test_the_names_are_the_globals_any_template_reads() -> None:
    env = _environment()
    assert _template_globals(env) == {"site_title", "href", "menu", "today"}
    # ... and every template is compiled once, here, not in each worker.
    assert set(env.cache or {}) and all(env.get_template(name) for name in TEMPLATES)


def test_templates_from_the_bytecode_cache_are_read_for_their_names(tmp_path: Path) -> None:
    for name in TEMPLATES:  # an earlier build compiled them into the bytecode cache
        _environment(tmp_path).get_template(name)
    assert list(tmp_path.iterdir())
    assert _template_globals(_environment(tmp_path)) == {"site_title", "href", "menu", "today"}


def test_a_template_that_does_not_compile_means_every_global() -> None:
    env = _environment()
    env.loader = jinja2.DictLoader({**TEMPLATES, "broken.html": "{% if site_title %}{{ menu }"})
    assert _template_globals(env) == set(env.globals) >= set(GLOBALS)
