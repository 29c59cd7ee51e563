"""`sitegen deploy` to a local folder: releases, the atomic switch, the URL guard, faults."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, read_tree

from sitegen.cli import main
from sitegen.deploy import lock
from sitegen.deploy.releases import DeployFolder
from sitegen.deploy.target import DeployError, Target, explain_failure, parse_target

HOLBAEK_URL = "/cases/holbaek-eksperimenterer-med-demokrati/"


def run(root: Path, *args: str) -> int:
    return main(["deploy", "--site", str(root), *args])


def releases(target: Path) -> list[str]:
    return sorted(p.name for p in (target / "releases").iterdir() if not p.name.startswith("."))


def live(target: Path) -> Path:
    return (target / "current").resolve()


def retitle(root: Path, title: str) -> None:
    """Change the Holbæk case's slug, as a new title would."""
    case = root / "content/cases/holbaek.md"
    text = case.read_text(encoding="utf-8")
    assert "slug: holbaek-eksperimenterer-med-demokrati\n" in text
    case.write_text(
        text.replace("slug: holbaek-eksperimenterer-med-demokrati\n", f"slug: {title}\n")
    )


def add_alias(root: Path, alias: str) -> None:
    case = root / "content/cases/holbaek.md"
    case.write_text(
        case.read_text(encoding="utf-8").replace("---\n", f"---\naliases: [{alias}]\n", 1)
    )


def test_first_deploy_sets_up_the_folder_and_publishes_the_built_site(
    site_copy: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = site_copy("basic")
    target = tmp_path / "www" / "cfb"  # does not exist yet
    assert run(root, str(target)) == 0
    assert (target / ".sitegen-deploy").read_text() == "sitegen deploy folder\n"
    assert os.readlink(target / "current") == f"releases/{releases(target)[0]}"
    published = read_tree(live(target))
    assert published == read_tree(root / "output")  # built first, then uploaded whole
    assert "cases/holbaek-eksperimenterer-med-demokrati/index.html" in published
    assert "Deployed release" in capsys.readouterr().out


def test_unchanged_files_are_hard_links_and_old_releases_are_pruned(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    root = site_copy("basic")
    target = tmp_path / "target"
    assert run(root, str(target)) == 0
    first = live(target)
    page = root / "content/pages/om.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nEn ny linje.\n", encoding="utf-8")
    assert run(root, str(target), "--keep", "2") == 0
    second = live(target)
    assert second != first and releases(target) == [first.name, second.name]
    same = second / "cases/holbaek-eksperimenterer-med-demokrati/index.html"
    assert same.stat().st_ino == (first / same.relative_to(second)).stat().st_ino
    assert (second / "om/index.html").stat().st_ino != (first / "om/index.html").stat().st_ino
    assert b"En ny linje." in (second / "om/index.html").read_bytes()
    page.write_text(page.read_text(encoding="utf-8") + "\nEndnu en.\n", encoding="utf-8")
    assert run(root, str(target), "--keep", "2") == 0
    assert releases(target) == [second.name, live(target).name]  # the oldest went


def test_rollback_switches_to_the_previous_release(
    site_copy: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = site_copy("basic")
    target = tmp_path / "target"
    assert run(root, str(target)) == 0
    first = live(target)
    page = root / "content/pages/om.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nRettelse.\n", encoding="utf-8")
    assert run(root, str(target)) == 0
    assert live(target) != first
    capsys.readouterr()
    assert run(root, str(target), "--rollback") == 0
    assert live(target) == first
    assert f"Rolled back {target} to release {first.name}" in capsys.readouterr().out
    assert run(root, str(target), "--rollback") == 1
    assert f"has no release before {first.name}" in capsys.readouterr().err
    assert live(target) == first


def test_a_moved_case_is_refused_until_its_old_url_is_an_alias(
    site_copy: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = site_copy("basic")
    target = tmp_path / "target"
    assert run(root, str(target)) == 0
    before = live(target)
    retitle(root, "holbaek-gentaenker-demokratiet")
    capsys.readouterr()
    assert run(root, str(target)) == 1
    err = capsys.readouterr().err
    assert f"the new site would break 1 published URL of {target}:" in err
    assert (
        f"  content/cases/holbaek.md: {HOLBAEK_URL} moved to /cases/holbaek-gentaenker-demokratiet/; "
        f"add `aliases: [{HOLBAEK_URL}]` to content/cases/holbaek.md to keep its links working"
    ) in err
    assert live(target) == before and releases(target) == [before.name]
    # --dry-run says the same and changes nothing
    assert run(root, str(target), "--dry-run") == 1
    assert "moved to /cases/holbaek-gentaenker-demokratiet/" in capsys.readouterr().err
    add_alias(root, HOLBAEK_URL)
    assert run(root, str(target)) == 0
    redirect = (live(target) / HOLBAEK_URL.strip("/") / "index.html").read_text()
    assert 'content="0; url=/cfb/cases/holbaek-gentaenker-demokratiet/"' in redirect
    assert (
        '<link rel="canonical" href="https://example.org/cfb/cases/holbaek-gentaenker-demokratiet/">'
        in redirect
    )
    assert '<a href="/cfb/cases/holbaek-gentaenker-demokratiet/">' in redirect
    nginx_map = (live(target) / ".sitegen/redirects.nginx.map").read_text()
    assert f"/cfb{HOLBAEK_URL} /cfb/cases/holbaek-gentaenker-demokratiet/;" in nginx_map
    caddy = (live(target) / ".sitegen/redirects.caddy").read_text()
    assert f"redir /cfb{HOLBAEK_URL} /cfb/cases/holbaek-gentaenker-demokratiet/ 301" in caddy
    sitemap = (live(target) / "sitemap.xml").read_text()
    assert "holbaek-gentaenker-demokratiet" in sitemap and HOLBAEK_URL not in sitemap


def test_a_deliberate_removal_needs_allow_removed(
    site_copy: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = site_copy("basic")
    target = tmp_path / "target"
    assert run(root, str(target)) == 0
    (root / "content/newsletter/januar-2022.md").unlink()
    capsys.readouterr()
    assert run(root, str(target)) == 1
    err = capsys.readouterr().err
    assert (
        "  content/newsletter/januar-2022.md: /nyhedsbrev/januar-2022/ is no longer published; "
        "add `aliases: [/nyhedsbrev/januar-2022/]` to the page that replaces it"
    ) in err
    assert "or pass --allow-removed if the removal is deliberate" in err
    assert (live(target) / "nyhedsbrev/januar-2022/index.html").exists()
    assert run(root, str(target), "--allow-removed") == 0
    assert not (live(target) / "nyhedsbrev/januar-2022").exists()


def test_dry_run_lists_added_changed_and_removed_and_changes_nothing(
    site_copy: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = site_copy("basic")
    target = tmp_path / "target"
    assert run(root, str(target), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "is not set up yet" in out and "added    index.html" in out
    assert not target.exists()
    assert run(root, str(target)) == 0
    before = read_tree(target)
    page = root / "content/pages/om.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nNyt.\n", encoding="utf-8")
    (root / "content/newsletter/januar-2022.md").unlink()
    capsys.readouterr()
    assert run(root, str(target), "--dry-run") == 1  # the guard speaks in a dry run too
    assert "/nyhedsbrev/januar-2022/ is no longer published" in capsys.readouterr().err
    assert run(root, str(target), "--dry-run", "--allow-removed") == 0
    out = capsys.readouterr().out
    assert "would remove on purpose: /nyhedsbrev/januar-2022/" in out
    assert "changed  om/index.html" in out
    assert "removed  nyhedsbrev/januar-2022/index.html" in out
    assert read_tree(target) == before


def test_a_folder_with_other_content_is_never_written(
    site_copy: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = site_copy("basic")
    target = tmp_path / "www"
    target.mkdir()
    (target / "index.html").write_text("someone else's site")
    assert run(root, str(target)) == 1
    err = capsys.readouterr().err
    assert err == (
        f"sitegen deploy: {target} is not a sitegen deploy folder (it holds other files); "
        "sitegen deploys only into an empty folder or one it set up: choose another; "
        "the live site is unchanged\n"
    )
    assert sorted(p.name for p in target.iterdir()) == ["index.html"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert run(root, str(a_file)) == 1
    assert "exists and is not a folder" in capsys.readouterr().err
    assert run(root, str(root / "output" / "x")) == 1
    assert "overlaps the site's output folder" in capsys.readouterr().err


def test_a_second_deploy_at_the_same_time_is_refused(
    site_copy: Callable[[str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = site_copy("basic")
    target = tmp_path / "target"
    assert run(root, str(target)) == 0
    before = live(target)
    holder = open(target / ".sitegen-deploy")  # noqa: SIM115 (another deploy's lock)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        monkeypatch.setattr(lock, "WAIT_SECONDS", 1)
        page = root / "content/pages/om.md"
        page.write_text(page.read_text(encoding="utf-8") + "\nNyt.\n", encoding="utf-8")
        capsys.readouterr()
        assert run(root, str(target)) == 1
        err = capsys.readouterr().err
        assert f"sitegen: waiting for another deploy to {target} ..." in err
        assert (
            f"sitegen deploy: another deploy to {target} is still running; try again when it "
            "has finished; the live site is unchanged"
        ) in err
        assert live(target) == before
    finally:
        holder.close()
    assert run(root, str(target)) == 0
    assert live(target) != before


def test_a_full_disk_is_one_line_and_the_live_site_stays(
    site_copy: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    root = site_copy("basic")
    target = tmp_path / "small"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(target)], check=True)
    try:
        assert run(root, str(target)) == 0
        before = live(target)
        (root / "static").mkdir()
        (root / "static/rapport.pdf").write_bytes(os.urandom(2 * 1024 * 1024))
        capsys.readouterr()
        assert run(root, str(target)) == 1
        assert capsys.readouterr().err == (
            f"sitegen deploy: {target}: the disk is full (No space left on device); "
            "the live site is unchanged\n"
        )
        assert live(target) == before and read_tree(before)
        (root / "static/rapport.pdf").unlink()
        page = root / "content/pages/om.md"
        page.write_text(page.read_text(encoding="utf-8") + "\nNyt.\n", encoding="utf-8")
        assert run(root, str(target)) == 0  # the next deploy cleans up and succeeds
        assert [p.name for p in (target / "releases").iterdir() if p.name.startswith(".")] == []
    finally:
        subprocess.run(["umount", str(target)], check=True)


def test_a_deploy_killed_midway_leaves_current_on_the_complete_previous_release(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    root = site_copy("basic")
    target = tmp_path / "target"
    assert run(root, str(target)) == 0
    before = live(target)
    published = read_tree(before)
    kill_midway(root, str(target), lambda: partial_files(target))
    assert live(target) == before and read_tree(before) == published
    assert releases(target) == [before.name]
    set_bandwidth(root, 0)
    assert run(root, str(target)) == 0  # cleans up what the killed deploy left
    assert live(target) != before
    assert (live(target) / "rapport.bin").stat().st_size == 512 * 1024
    assert not [p for p in (target / "releases").iterdir() if p.name.startswith(".")]


def partial_files(target: Path) -> int:
    return sum(1 for p in (target / "releases").glob(".partial-*/**/*") if p.is_file())


def set_bandwidth(root: Path, limit: int) -> None:
    toml = root / "sitegen.toml"
    text = toml.read_text(encoding="utf-8")
    if "[deploy]" not in text:
        text += "\n[deploy]\n"
    lines = [line for line in text.splitlines() if not line.startswith("bandwidth_limit")]
    toml.write_text("\n".join(lines) + f"\nbandwidth_limit = {limit}\n", encoding="utf-8")


def kill_midway(root: Path, target: str, uploaded: Callable[[], int]) -> None:
    """Start a slow deploy (a big file at 64 KiB/s) and SIGKILL it once its upload began."""
    (root / "static").mkdir(exist_ok=True)
    (root / "static/rapport.bin").write_bytes(os.urandom(512 * 1024))
    set_bandwidth(root, 64)
    process = subprocess.Popen(
        [sys.executable, "-m", "sitegen", "deploy", "--site", str(root), target],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            if uploaded() > 0:
                break
            assert process.poll() is None, "the deploy ended before it could be killed"
            subprocess.run(["sleep", "0.05"], check=True)
        else:
            raise AssertionError("the upload never started")
        assert process.poll() is None
    finally:
        process.kill()  # SIGKILL
        process.wait()


def test_targets_parse_like_rsync() -> None:
    assert parse_target("deploy@example.org:/srv/cfb/") == Target("/srv/cfb", "deploy@example.org")
    assert parse_target("example.org:/srv/cfb") == Target("/srv/cfb", "example.org")
    assert parse_target("/srv/cfb") == Target("/srv/cfb")
    assert parse_target("./a:b").host is None
    with pytest.raises(DeployError, match="write the folder on the server as an absolute path"):
        parse_target("example.org:www")
    with pytest.raises(DeployError, match=r"no target: pass TARGET or set `target` in \[deploy\]"):
        parse_target("")


def test_release_ids_sort_after_every_existing_one() -> None:
    folder = DeployFolder("sitegen", ("20261130-101502", "20261130-101502-2"), "20261130-101502-2")
    assert folder.new_id(0) == "20261130-101502-3"
    assert DeployFolder("sitegen").new_id(1796083200) == "20261201-000000"
    assert folder.previous() == "20261130-101502"
    many = tuple(f"20261130-101502-{n}" for n in range(2, 12))
    assert DeployFolder("sitegen", ("20261130-101502", *many), many[-1]).new_id(0).endswith("-12")


@pytest.mark.parametrize(
    ("code", "stderr", "message"),
    [
        (
            255,
            "root@127.0.0.1: Permission denied (publickey).\r\n",
            "web refused the SSH key (root@127.0.0.1: Permission denied (publickey)); "
            "check the key in [deploy] ssh and the server's authorized_keys",
        ),
        (
            255,
            "ssh: connect to host 127.0.0.1 port 1: Connection refused\n",
            "cannot reach web: connect to host 127.0.0.1 port 1: Connection refused",
        ),
        (
            11,
            'rsync: [receiver] write failed on "/srv/x": No space left on device (28)\n'
            "rsync error: error in file IO (code 11)\n",
            "web:/srv: the disk is full (No space left on device)",
        ),
    ],
)
def test_faults_are_one_line(code: int, stderr: str, message: str) -> None:
    assert explain_failure("web:/srv", "web", code, stderr) == message
