"""The command line: exit codes, options, messages, and one real subprocess build."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CASE, REPO, read_tree

from sitegen import __version__
from sitegen.cli import main


def test_build_from_site_root(
    site_copy: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = site_copy("basic")
    monkeypatch.chdir(root)
    assert main(["build"]) == 0
    assert (root / "output/index.html").exists()
    assert "Built" in capsys.readouterr().out


def test_site_out_drafts_future_and_quiet(
    site_copy: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = site_copy("basic")
    out = tmp_path / "elsewhere"
    assert (
        main(["build", "--site", str(root), "--out", str(out), "--drafts", "--future", "-q"]) == 0
    )
    assert capsys.readouterr().out == ""
    assert (out / "cases/en-kladde/index.html").exists()
    assert (out / "cases/en-case-fra-fremtiden/index.html").exists()


def test_verbose_lists_files(
    site_copy: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["build", "--site", str(site_copy("basic")), "--out", str(tmp_path / "o"), "-v"]) == 0
    )
    assert "cases/index.html" in capsys.readouterr().out.splitlines()


def test_content_errors_exit_1_and_keep_output(
    new_site: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="A")})
    assert main(["build", "--site", str(root), "-q"]) == 0
    before = read_tree(root / "output")
    (root / "content/cases/b.md").write_text(CASE.format(title="B").replace("title: B\n", ""))
    assert main(["build", "--site", str(root)]) == 1
    err = capsys.readouterr().err
    assert "content/cases/b.md:1: title: missing required field" in err
    assert "1 error; nothing was written" in err
    assert read_tree(root / "output") == before


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--site", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["build", "--no-such-option"])
    assert exited.value.code == 2


def test_outside_a_site_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["build"]) == 2
    assert "--site DIR" in capsys.readouterr().err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"sitegen {__version__}"
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    help_text = capsys.readouterr().out
    for option in ("--site", "--out", "--drafts", "--future", "--quiet", "--verbose"):
        assert option in help_text


def test_real_build_of_the_repo_site_in_a_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "sitegen", "build", "--site", str(REPO), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Built" in done.stdout
    assert "Rendering pages" not in done.stderr  # piped output stays plain
    assert (out / "cases/holbaek-eksperimenterer-med-demokrati/index.html").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_only(
    site_copy: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["build", "--site", str(site_copy("basic")), "--out", str(tmp_path / "o")]) == 0
    shown = terminal.getvalue()
    assert "\rRendering pages: " in shown
    done, total = shown.rstrip("\n").rsplit(" ", 1)[-1].split("/")
    assert done == total and int(total) > 10
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    assert main(["build", "--site", str(tmp_path / "basic"), "--out", str(tmp_path / "o")]) == 0
    assert piped.getvalue() == ""
