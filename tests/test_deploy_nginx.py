"""The nginx sample of docs/deploy.md, run by Debian's nginx over a deployed release."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO
from test_deploy_ssh import free_port, wait_for_port

from sitegen.cli import main

NGINX = "/usr/sbin/nginx"
SAMPLE_ROOT = "/srv/borgerdialog"


def sample_config() -> str:
    """The ```nginx block of docs/deploy.md, exactly as an administrator would copy it."""
    docs = (REPO / "docs/deploy.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```nginx\n(.*?)```", docs, flags=re.DOTALL)
    assert len(blocks) == 1
    return str(blocks[0])


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "borgerdialog.dk"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_nginx_serves_the_release_with_404_page_redirects_and_headers(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    if not Path(NGINX).exists():
        if os.environ.get("CI"):
            raise AssertionError("Debian's nginx is required: bash scripts/test installs it")
        pytest.skip("needs Debian's nginx (bash scripts/test installs it)")
    root = site_copy("basic")
    toml = root / "sitegen.toml"
    toml.write_text(
        toml.read_text().replace("https://example.org/cfb/", "https://borgerdialog.dk/")
    )
    target = tmp_path / "srv"
    port = free_port()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    case = root / "content/cases/holbaek.md"
    text = case.read_text(encoding="utf-8")
    case.write_text(
        text.replace(
            "slug: holbaek-eksperimenterer-med-demokrati\n", "slug: holbaek-nyt\n"
        ).replace("---\n", "---\naliases: [/cases/holbaek-eksperimenterer-med-demokrati/]\n", 1),
        encoding="utf-8",
    )
    assert main(["deploy", "--site", str(root), str(target)]) == 0
    site = sample_config().replace(SAMPLE_ROOT, str(target))
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("listen [::]:80;", "")
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the tmp folder
    (prefix / "nginx.conf").write_text(
        f"{user}pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        "events {}\n"
        "http {\n"
        "  include /etc/nginx/mime.types;\n"
        f"  access_log off;\n  client_body_temp_path {prefix}/body;\n"
        f"  proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n"
        f"  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n"
        f"{site}\n}}\n"
    )
    log = prefix / "error.log"
    log.touch()
    process = subprocess.Popen(
        [NGINX, "-c", str(prefix / "nginx.conf"), "-p", str(prefix), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process, log)
        status, headers, body = get(port, "/cases/holbaek-nyt/")
        assert status == 200 and b"<h1" in body
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-cache"
        css = re.search(rb'href="(/static/cfb\.[0-9a-f]{10}\.css)"', body)
        assert css is not None
        status, headers, _ = get(port, css.group(1).decode())
        assert status == 200 and headers["cache-control"] == "max-age=31536000"
        status, headers, body = get(port, "/findes/ikke/")
        assert status == 404 and b"Siden findes ikke" in body
        assert "content-security-policy" in headers
        status, headers, _ = get(port, "/cases/holbaek-eksperimenterer-med-demokrati/")
        assert status == 301 and headers["location"] == "/cases/holbaek-nyt/"
        status, _, body = get(port, "/.sitegen/pages.json")
        assert status == 404 and b"Siden findes ikke" in body
        status, headers, _ = get(port, "/pagefind/pagefind.js")
        assert status == 200 and "'wasm-unsafe-eval'" in headers["content-security-policy"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
    shutil.rmtree(prefix, ignore_errors=True)
