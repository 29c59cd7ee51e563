"""The package's shape as behaviour: model types resolve, light commands stay light."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from sitegen.cli import COMMANDS, main
from sitegen.content import model
from tests.conftest import REPO

HEAVY = ("markdown", "jinja2", "babel", "nh3", "css_inline")


def test_every_model_type_resolves_its_annotations() -> None:
    types = [
        value
        for value in vars(model).values()
        if dataclasses.is_dataclass(value) and value.__module__ == model.__name__
    ]
    assert {"Case", "CaseCard", "NewsletterIssue", "Site"} <= {t.__name__ for t in types}
    for kind in types:
        hints = typing.get_type_hints(kind)
        assert set(hints) >= {f.name for f in dataclasses.fields(kind)}


@pytest.mark.parametrize("module", ["sitegen.new", "sitegen.build.command", "sitegen.cli"])
def test_light_modules_do_not_load_markdown_or_templates(module: str) -> None:
    code = (
        f"import sys, {module}\nprint(','.join(name for name in {HEAVY!r} if name in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_every_command_in_the_table_has_its_options_and_its_action(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert [c.name for c in COMMANDS] == [
        "build",
        "serve",
        "new",
        "check",
        "newsletter",
        "deploy",
        "subscribers",
    ]
    for command in COMMANDS:
        module = command.load()
        assert callable(getattr(module, f"add_{command.name}"))
        assert callable(getattr(module, f"run_{command.name}"))
        with pytest.raises(SystemExit) as exit_info:
            main([command.name, "--help"])
        assert exit_info.value.code == 0
        assert command.help.capitalize() in capsys.readouterr().out


def test_a_site_without_templates_is_built_with_the_bundled_theme(tmp_path: Path) -> None:
    from sitegen.build.pipeline import build_files
    from sitegen.config import bundled_theme, default_options

    assert (bundled_theme() / "base.html").is_file()
    bare = tmp_path / "bare"
    shutil.copytree(REPO / "content", bare / "content")
    shutil.copy(REPO / "sitegen.toml", bare / "sitegen.toml")
    themed = tmp_path / "themed"
    shutil.copytree(bare, themed)
    shutil.copytree(REPO / "templates", themed / "templates")
    options = default_options()
    files = {f.path: f.data for f in build_files(bare, options).files}
    assert any(re.fullmatch(r"static/cfb\.[0-9a-f]{10}\.css", path) for path in files)
    assert "index.html" in files
    assert files == {f.path: f.data for f in build_files(themed, options).files}
