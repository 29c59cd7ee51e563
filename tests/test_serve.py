"""The dev server without a browser: rebuilds, build counter, last good site, safe paths."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from sitegen.build.pipeline import build_files
from sitegen.config import default_options
from sitegen.serve.livereload import ENDPOINT, inject
from sitegen.serve.server import DevServer, respond
from sitegen.serve.site import DevSite
from sitegen.serve.watch import (
    ChangeHandler,
    Debouncer,
    SourceFilter,
    SourceWatcher,
    is_editor_litter,
)
from tests.conftest import CASE

CASE_PATH = "content/cases/holbaek.md"


@pytest.fixture
def site_root(new_site: Callable[[dict[str, str]], Path]) -> Path:
    return new_site(
        {
            "sitegen.toml": '[site]\nbase_url = "https://example.dk/"\n',
            CASE_PATH: CASE.format(title="Holbæk eksperimenterer"),
            "content/pages/om.md": "---\ntitle: Om os\nlead: Om centret.\n---\n\nTekst.\n",
        }
    )


def dev_site(root: Path) -> DevSite:
    site = DevSite(root, default_options())
    assert site.rebuild().ok
    return site


def test_rebuild_counts_good_builds_and_keeps_the_last_good_site(site_root: Path) -> None:
    site = dev_site(site_root)
    page = "cases/holbaek-eksperimenterer/index.html"
    first = site.file(page)
    assert first is not None and b"Holb\xc3\xa6k eksperimenterer" in first
    assert site.snapshot().build == 1

    case = site_root / CASE_PATH
    case.write_text(case.read_text().replace("level: lokalsamfund", "level: landsdel"))
    outcome = site.rebuild()
    assert not outcome.ok
    state = site.snapshot()
    assert (state.epoch, state.build) == (2, 1)
    assert state.errors == (
        f"{CASE_PATH}:6: level: must be one of individ, lokalsamfund, kommune, not 'landsdel'",
    )
    assert site.file(page) == first  # the last good site is still served

    case.write_text(CASE.format(title="Holbæk eksperimenterer").replace("Brødtekst", "Ny tekst"))
    assert site.rebuild().ok
    state = site.snapshot()
    assert (state.epoch, state.build, state.errors) == (3, 2, ())
    new_page = site.file(page)
    assert new_page is not None and b"Ny tekst" in new_page


def test_a_file_that_vanishes_mid_build_is_an_error_not_a_crash(
    site_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = dev_site(site_root)
    gone = site_root / "content/cases/slettet.md"

    def vanished(root: Path, options: object, **kwargs: object) -> None:
        raise FileNotFoundError(2, "No such file or directory", str(gone))

    monkeypatch.setattr("sitegen.serve.site.build_files", vanished)
    assert not site.rebuild().ok
    assert site.snapshot().errors == (
        "content/cases/slettet.md: could not read the file: No such file or directory",
    )
    assert site.file("index.html") is not None


def test_before_a_first_good_build_an_error_page_is_served(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site({CASE_PATH: "---\ntitle: Holbæk\n"})
    site = DevSite(root, default_options())
    assert not site.rebuild().ok
    assert site.snapshot().errors == (
        f"{CASE_PATH}:1: front matter is never closed: add a '---' line after it",
    )
    response = respond(site, "/")
    assert response.status == 404
    assert b'lang="da"' in response.body and b'data-build="0"' in response.body


def test_a_long_poll_returns_when_a_rebuild_happens(site_root: Path) -> None:
    site = dev_site(site_root)
    epoch = site.snapshot().epoch
    assert site.wait_for_change(epoch - 1, timeout=30).epoch == epoch  # already newer: at once
    answers = []
    waiter = threading.Thread(target=lambda: answers.append(site.wait_for_change(epoch, 30)))
    waiter.start()
    site.rebuild()
    waiter.join(timeout=30)
    assert [(a.epoch, a.build) for a in answers] == [(epoch + 1, 2)]


def test_closing_releases_waiting_long_polls(site_root: Path) -> None:
    site = dev_site(site_root)
    waiter = threading.Thread(target=site.wait_for_change, args=(site.snapshot().epoch, 60))
    waiter.start()
    site.close()
    waiter.join(timeout=10)
    assert not waiter.is_alive()


def test_a_burst_of_saves_is_built_once_after_it_goes_quiet() -> None:
    debouncer = Debouncer(lambda paths: None, delay=0.2, longest=2.0)
    for at, name in [(0.0, "a.md"), (0.1, "b.md"), (0.25, "a.md")]:
        debouncer.add(name, now=at)
    assert not debouncer.due(0.3)  # still saving
    assert debouncer.due(0.45)
    assert debouncer.take() == ["a.md", "b.md"]
    assert not debouncer.due(10.0)


def test_saves_that_never_go_quiet_are_still_built() -> None:
    debouncer = Debouncer(lambda paths: None, delay=0.2, longest=1.0)
    for tick in range(12):
        debouncer.add("a.md", now=tick * 0.1)
    assert debouncer.due(1.15)


def test_events_become_one_rebuild_and_editor_litter_is_ignored(site_root: Path) -> None:
    calls: list[list[str]] = []
    done = threading.Event()

    def rebuild(paths: list[str]) -> None:
        calls.append(paths)
        done.set()

    debouncer = Debouncer(rebuild, delay=0.5)
    handler = ChangeHandler(SourceFilter(site_root), debouncer)
    cases = site_root / "content/cases"
    litter = [
        FileCreatedEvent(str(cases / ".holbaek.md.swp")),
        FileModifiedEvent(str(cases / "holbaek.md~")),
        FileCreatedEvent(str(cases / "#holbaek.md#")),
        FileCreatedEvent(str(cases / "4913")),
        FileModifiedEvent(str(site_root / "output/index.html")),
        FileOpenedEvent(str(cases / "holbaek.md")),
        FileClosedEvent(str(cases / "holbaek.md")),
    ]
    for event in litter:
        handler.dispatch(event)
    assert debouncer.take() == []

    debouncer.start()
    try:
        handler.dispatch(FileModifiedEvent(str(cases / "holbaek.md")))
        handler.dispatch(FileMovedEvent(str(cases / ".holbaek.md.tmp"), str(cases / "ny.md")))
        handler.dispatch(FileDeletedEvent(str(cases / "gammel.md")))
        handler.dispatch(FileModifiedEvent(str(site_root / "sitegen.toml")))
        handler.dispatch(FileModifiedEvent(str(site_root / "templates/base.html")))
        assert done.wait(timeout=20)
    finally:
        debouncer.stop()
    assert len(calls) == 1
    assert sorted(Path(p).relative_to(site_root).as_posix() for p in calls[0]) == [
        "content/cases/gammel.md",
        "content/cases/holbaek.md",
        "content/cases/ny.md",
        "sitegen.toml",
        "templates/base.html",
    ]


@pytest.mark.parametrize("name", [".x.md.swp", "x.md~", "#x.md#", ".#x.md", "x.md.tmp", "4913"])
def test_editor_litter_names(name: str) -> None:
    assert is_editor_litter(name)
    assert not is_editor_litter("x.md")


@pytest.mark.parametrize("poll", [False, True], ids=["inotify", "polling"])
def test_saving_a_file_rebuilds_the_site(site_root: Path, poll: bool) -> None:
    site = dev_site(site_root)
    debouncer = Debouncer(lambda paths: site.rebuild(), delay=0.1)
    watcher = SourceWatcher(site_root, ChangeHandler(SourceFilter(site_root), debouncer), poll)
    debouncer.start()
    watcher.start()
    try:
        epoch = site.snapshot().epoch
        temporary = site_root / "content/cases/.holbaek.md.new"
        temporary.write_text(
            CASE.format(title="Holbæk eksperimenterer").replace("Brødtekst", "Gemt")
        )
        temporary.replace(site_root / CASE_PATH)  # an atomic save arrives as a move
        state = site.wait_for_change(epoch, timeout=30)
    finally:
        watcher.stop()
        debouncer.stop()
    assert state.build == 2
    page = site.file("cases/holbaek-eksperimenterer/index.html")
    assert page is not None and b"Gemt" in page


# --- HTTP: what the server answers --------------------------------------------------------


@contextlib.contextmanager
def running(site: DevSite) -> Iterator[tuple[str, int]]:
    server = DevServer(("127.0.0.1", 0), site)
    server.long_poll_seconds = 5
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", int(server.server_address[1])
    finally:
        site.close()
        server.shutdown()
        thread.join()
        server.server_close()


def raw_get(address: tuple[str, int], target: str) -> tuple[int, bytes]:
    """A GET sent byte for byte: HTTP clients would normalize '..' away."""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(f"GET {target} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode("latin-1"))
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status = int(response.split(b" ", 2)[1])
    return status, response.split(b"\r\n\r\n", 1)[1]


TRAVERSALS = [
    "/../secret.txt",
    "/../../../../etc/passwd",
    "/cases/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/cases/..%2f..%2fsecret.txt",
    "/static%2f..%2f..%2fsecret.txt",
    "/..%5c..%5csecret.txt",
    "/..\\..\\secret.txt",
    "//etc/passwd",
    "/etc/passwd",
    "/cases/%00/index.html",
    "/%c0%ae%c0%ae/secret.txt",
    "/./index.html",
    "http://localhost/../secret.txt",
]


def test_path_traversal_gets_404_and_never_a_file_outside(site_root: Path) -> None:
    (site_root / "secret.txt").write_text("HEMMELIGT-1")
    (site_root.parent / "secret.txt").write_text("HEMMELIGT-2")
    with running(dev_site(site_root)) as address:
        for target in TRAVERSALS:
            status, body = raw_get(address, target)
            assert status == 404, target
            assert b"HEMMELIGT" not in body and b"root:" not in body, target
            assert b"Siden findes ikke" in body, target
        assert raw_get(address, "/cases/holbaek-eksperimenterer/")[0] == 200


def test_pages_get_the_reload_script_and_the_404_page(site_root: Path) -> None:
    site = dev_site(site_root)
    home = respond(site, "/")
    assert home.status == 200 and home.headers["Content-Type"] == "text/html; charset=utf-8"
    assert home.body.count(b"data-sitegen-livereload") == 1
    assert home.body.index(b"data-sitegen-livereload") < home.body.rindex(b"</body>")
    stylesheet = re.search(rb'href="(/static/cfb\.[0-9a-f]{10}\.css)"', home.body)
    assert stylesheet is not None
    css = respond(site, stylesheet.group(1).decode())
    assert css.status == 200 and b"sitegen" not in css.body
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    missing = respond(site, "/findes-ikke/")
    assert missing.status == 404
    not_found_page = site.file("404.html")
    assert not_found_page is not None and b"Siden findes ikke" in not_found_page
    assert missing.body == inject(not_found_page, 1)
    assert respond(site, "/cases?x=1") == respond(site, "/cases")  # the query is ignored
    assert respond(site, "/cases").status == 301
    assert respond(site, "/cases").headers["Location"] == "/cases/"
    assert respond(site, "/cases/holbaek-eksperimenterer/index.html").status == 200


def test_what_build_writes_has_no_reload_script(site_root: Path) -> None:
    files = build_files(site_root, default_options()).files
    assert "index.html" in {item.path for item in files}
    assert all(b"sitegen-livereload" not in item.data for item in files)
    assert all(ENDPOINT.encode() not in item.data for item in files)


def test_the_site_is_served_under_its_base_path(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site(
        {
            "sitegen.toml": '[site]\nbase_url = "https://example.dk/cfb/"\n',
            CASE_PATH: CASE.format(title="Holbæk"),
        }
    )
    site = dev_site(root)
    assert respond(site, "/") == respond(site, "/cfb")
    assert respond(site, "/").status == 302 and respond(site, "/").headers["Location"] == "/cfb/"
    page = respond(site, "/cfb/cases/holbaek/")
    assert page.status == 200
    assert re.search(rb'href="/cfb/static/cfb\.[0-9a-f]{10}\.css"', page.body)
    assert respond(site, "/cases/holbaek/").status == 404


def test_the_long_poll_endpoint_reports_build_and_errors(site_root: Path) -> None:
    site = dev_site(site_root)
    with running(site) as address:
        status, body = raw_get(address, f"{ENDPOINT}?epoch=-1")
        assert status == 200 and body == b'{"epoch": 1, "build": 1, "errors": []}'
        case = site_root / CASE_PATH
        case.write_text(case.read_text().replace("title:", "titel:"))
        site.rebuild()
        status, body = raw_get(address, f"{ENDPOINT}?epoch=1")
        assert re.fullmatch(rb'\{"epoch": 2, "build": 1, "errors": \[.*titel.*\]\}', body)
        assert raw_get(address, f"{ENDPOINT}?epoch=x")[0] == 400


def test_the_script_goes_before_the_last_closing_body_tag() -> None:
    html = b"<html><body><pre>&lt;/body&gt;</pre></BODY >\n</html>"
    injected = inject(html, 7)
    assert injected.endswith(b"</BODY >\n</html>")
    assert b'src="/__sitegen/livereload.js?v=' in injected and b'data-build="7"' in injected
    assert inject(b"<p>brudstykke</p>", 1).startswith(b"<p>brudstykke</p><script")


def test_a_reload_after_a_save_asks_for_nothing_but_what_changed(site_root: Path) -> None:
    """Hashed theme files are kept for a year, the rest revalidated by ETag (304 when the
    same), pages too: a page reloaded after a save waits for nothing but itself."""
    site = dev_site(site_root)
    home = respond(site, "/")
    stylesheet = re.search(rb'href="(/static/cfb\.[0-9a-f]{10}\.css)"', home.body)
    assert stylesheet is not None
    css = respond(site, stylesheet.group(1).decode())
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "ETag" not in css.headers
    font = respond(site, "/static/fonts/plex-sans-400.woff2")
    assert font.status == 200 and font.headers["Cache-Control"] == "no-cache"
    again = respond(site, "/static/fonts/plex-sans-400.woff2", f'W/"x", {font.headers["ETag"]}')
    assert again.status == 304 and again.body == b""
    assert respond(site, "/", home.headers["ETag"]).status == 304
    page = site_root / CASE_PATH
    page.write_text(page.read_text() + "\nEt nyt afsnit.\n")
    assert site.rebuild().ok
    # the next build's page, even unchanged, names another build for its reload script
    assert respond(site, "/", home.headers["ETag"]).status == 200
    assert respond(site, "/static/fonts/plex-sans-400.woff2", font.headers["ETag"]).status == 304
    with running(site) as address:
        status, _ = raw_get(address, "/__sitegen/livereload.js?v=gammel")
        assert status == 200
        script = re.search(rb'src="(/__sitegen/livereload\.js\?v=[0-9a-f]+)"', home.body)
        assert script is not None
        with socket.create_connection(address, timeout=10) as connection:
            connection.sendall(f"GET {script.group(1).decode()} HTTP/1.0\r\n\r\n".encode())
            head = connection.recv(65536).split(b"\r\n\r\n", 1)[0]
        assert b"Cache-Control: public, max-age=31536000, immutable" in head


def test_the_reload_script_is_a_file_of_its_own_so_the_csp_allows_it(site_root: Path) -> None:
    home = respond(dev_site(site_root), "/")
    assert b"<script>" not in home.body and b'src="/__sitegen/livereload.js?v=' in home.body
    assert b"script-src &#39;self&#39;" in home.body
