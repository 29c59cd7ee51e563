"""`sitegen deploy user@host:/path` against a real sshd on 127.0.0.1, started by the tests."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import read_tree
from test_deploy import kill_midway, releases, retitle, set_bandwidth

from sitegen.cli import main
from tests.servers import free_port

SSHD = "/usr/sbin/sshd"


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(200):
        assert process.poll() is None, f"the server stopped: {log.read_text(errors='replace')}"
        with socket.socket() as client:
            if client.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def ssh_keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sitegen-test", "-f", str(path)],
        check=True,
    )
    return path


@dataclass(frozen=True)
class SshServer:
    port: int
    user: str
    key: Path
    folder: Path  # for the deploy folders of the tests

    def ssh_command(self, key: Path | None = None) -> str:
        return (
            f"ssh -p {self.port} -i {key or self.key} -o StrictHostKeyChecking=no "
            "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o IdentitiesOnly=yes"
        )


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """Debian's sshd on a free port of 127.0.0.1, with its own host key and authorized_keys."""
    if not Path(SSHD).exists() or not shutil.which("rsync"):
        if os.environ.get("CI"):
            raise AssertionError(
                "openssh-server and rsync are required: bash scripts/test installs them"
            )
        pytest.skip("needs Debian's openssh-server and rsync (bash scripts/test installs them)")
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("sshd's privilege separation needs root (CI runs as root)")
    home = tmp_path_factory.mktemp("sshd")
    host_key = ssh_keygen(home / "host_key")
    client_key = ssh_keygen(home / "client_key")
    authorized = home / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    port = free_port()
    config = home / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {host_key}\n"
        f"PidFile {home / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "PermitRootLogin prohibit-password\n"
        "MaxStartups 50\n"
        "MaxSessions 50\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    log = home / "sshd.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=output)
    try:
        wait_for_port(port, process, log)
        folder = home / "srv"
        folder.mkdir()
        yield SshServer(port, getpass.getuser(), client_key, folder)
    finally:
        process.terminate()
        process.wait(timeout=10)


def configure(root: Path, ssh_command: str, target: str = "") -> None:
    toml = root / "sitegen.toml"
    text = toml.read_text(encoding="utf-8").partition("\n[deploy]\n")[0]
    text += f'\n[deploy]\nssh = "{ssh_command}"\n'
    if target:
        text += f'target = "{target}"\n'
    toml.write_text(text, encoding="utf-8")


def run(root: Path, *args: str) -> int:
    return main(["deploy", "--site", str(root), *args])


def test_deploy_over_ssh_publishes_switches_and_keeps_urls(
    sshd: SshServer,
    site_copy: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = site_copy("basic")
    folder = sshd.folder / "cfb"
    configure(root, sshd.ssh_command(), f"{sshd.user}@127.0.0.1:{folder}")
    assert run(root) == 0  # the target from sitegen.toml, set up on the first deploy
    first = (folder / "current").resolve()
    assert read_tree(first) == read_tree(root / "output")
    page = root / "content/pages/om.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nNyt afsnit.\n", encoding="utf-8")
    assert run(root) == 0
    second = (folder / "current").resolve()
    assert second != first and releases(folder) == [first.name, second.name]
    unchanged = "cases/holbaek-eksperimenterer-med-demokrati/index.html"
    assert (second / unchanged).stat().st_ino == (first / unchanged).stat().st_ino
    retitle(root, "holbaek-gentaenker-demokratiet")
    capsys.readouterr()
    assert run(root) == 1
    err = capsys.readouterr().err
    assert (
        "/cases/holbaek-eksperimenterer-med-demokrati/ moved to "
        "/cases/holbaek-gentaenker-demokratiet/" in err
    )
    assert (folder / "current").resolve() == second
    assert run(root, "--rollback") == 0
    assert (folder / "current").resolve() == first


def test_a_refused_key_and_an_unreachable_host_are_one_line(
    sshd: SshServer,
    site_copy: Callable[[str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = site_copy("basic")
    stranger = ssh_keygen(tmp_path / "stranger")
    configure(root, sshd.ssh_command(stranger))
    target = f"{sshd.user}@127.0.0.1:{sshd.folder / 'refused'}"
    assert run(root, target) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"sitegen deploy: {sshd.user}@127.0.0.1 refused the SSH key ("), err
    assert err.endswith(
        "check the key in [deploy] ssh and the server's authorized_keys; "
        "the live site is unchanged\n"
    )
    assert "Permission denied (publickey" in err and err.count("\n") == 1
    assert not (sshd.folder / "refused").exists()
    closed = free_port()  # nothing listens there
    configure(root, sshd.ssh_command().replace(f"-p {sshd.port}", f"-p {closed}"))
    assert run(root, target) == 1
    assert capsys.readouterr().err == (
        f"sitegen deploy: cannot reach {sshd.user}@127.0.0.1: connect to host 127.0.0.1 port "
        f"{closed}: Connection refused; the live site is unchanged\n"
    )


def test_a_deploy_over_ssh_killed_midway_leaves_the_previous_release_live(
    sshd: SshServer, site_copy: Callable[[str], Path]
) -> None:
    root = site_copy("basic")
    folder = sshd.folder / "killed"
    configure(root, sshd.ssh_command())
    target = f"{sshd.user}@127.0.0.1:{folder}"
    assert run(root, target) == 0
    before = (folder / "current").resolve()
    published = read_tree(before)

    def uploaded() -> int:
        return sum(1 for p in (folder / "releases").glob(".partial-*/**/*") if p.is_file())

    kill_midway(root, target, uploaded)
    assert (folder / "current").resolve() == before and read_tree(before) == published
    set_bandwidth(root, 0)
    assert run(root, target) == 0  # waits for the lock of the killed deploy, then cleans up
    assert (folder / "current").resolve() != before
    assert (folder / "current" / "rapport.bin").stat().st_size == 512 * 1024
    assert not [p for p in (folder / "releases").iterdir() if p.name.startswith(".")]
