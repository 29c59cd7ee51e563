"""The subscription service through Starlette's TestClient: signup, confirm, unsubscribe, faults.

The database is a real SQLite file in a temporary folder; the mail goes to a list.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from sitegen.build.inputs import load_inputs
from sitegen.build.pipeline import load_model
from sitegen.config import default_options
from sitegen.render.email import subscriber_id, unsubscribe_token
from sitegen.subscribers.app import RateLimit, Service, create_app
from sitegen.subscribers.mail import MailFailed
from sitegen.subscribers.pages import make_pages
from sitegen.subscribers.store import Store
from sitegen.subscribers.tokens import confirmation_token, form_stamp, suppression_key

SECRET = b"tokenhemmelighed"
URL = "https://nyhedsbrev.example.org/"


def with_service(root: Path, url: str = URL) -> Path:
    text = (root / "sitegen.toml").read_text(encoding="utf-8")
    (root / "sitegen.toml").write_text(text + f'\n[subscribers]\nurl = "{url}"\n')
    return root


@dataclass
class Harness:
    client: TestClient
    service: Service
    store: Store
    mails: list[EmailMessage] = field(default_factory=list)
    db: Path = Path()

    def rows(self) -> list[dict[str, Any]]:
        with sqlite3.connect(self.db) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute("SELECT * FROM subscribers")]

    def suppressed(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.db) as db:
            return list(db.execute("SELECT key, reason FROM suppressed"))

    def link(self, index: int = -1) -> str:
        found = re.search(r"https://\S+", self.mails[index].get_content())
        assert found
        return found.group(0)


def make_harness(root: Path, db: Path, busy_timeout: float = 5.0, **service: Any) -> Harness:
    inputs = load_inputs(root)
    model = load_model(inputs, default_options())
    assert not model.errors
    config = inputs.config
    store = Store(db, busy_timeout=busy_timeout)
    mails: list[EmailMessage] = []
    options: dict[str, Any] = {"min_form_seconds": 0.0} | service
    limit = options.pop("limit", RateLimit(0))
    app_service = Service(
        config,
        store,
        SECRET,
        mails.append,
        make_pages(config, model.site, inputs),
        limit,
        **options,
    )
    client = TestClient(create_app(app_service), base_url=URL.rstrip("/"))
    return Harness(client, app_service, store, mails, db)


@pytest.fixture
def harness(site_copy: Callable[[str], Path], tmp_path: Path) -> Iterator[Harness]:
    root = with_service(site_copy("basic"))
    made = make_harness(root, tmp_path / "subscribers.db")
    yield made
    made.store.close()


def signup(h: Harness, address: str, **extra: str) -> Any:
    return h.client.post("/tilmeld", data={"email": address, **extra})


def main_text(response: Any) -> str:
    html = response.text
    main = html[html.index("<main") : html.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).strip()


def confirm(h: Harness, link: str) -> Any:
    """Open the link (GET: a page with a button) and press the button (POST its form)."""
    page = h.client.get(link)
    assert page.status_code == 200, main_text(page)
    main = page.text[page.text.index("<main") : page.text.index("</main>")]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', main))
    assert set(fields) == {"token", "t"}
    return h.client.post("/bekraeft", data=fields)


def test_signup_stores_a_consent_record_and_mails_a_link_that_only_a_post_confirms(
    harness: Harness,
) -> None:
    h = harness
    answer = signup(h, "Anna.Jensen@example.net", navn="Anna Jensen", side=f"{URL}x")
    assert answer.status_code == 200
    assert "Tak - tjek din indbakke" in main_text(answer)
    [row] = h.rows()
    assert row["address"] == "anna.jensen@example.net"
    assert row["status"] == "pending" and row["name"] == "Anna Jensen"
    assert row["consent_text"].startswith("Vi bruger kun din adresse")
    assert len(row["consent_version"]) == 12 and row["signed_up_at"]
    assert row["page"] == f"{URL}x"
    [mail] = h.mails
    assert mail["To"].addresses[0].addr_spec == "Anna.Jensen@example.net"
    assert mail["Subject"].startswith("Bekræft din tilmelding")
    link = h.link()
    assert link.startswith(URL + "bekraeft?token=")
    for _ in range(3):  # a mail scanner follows the link, more than once
        shown = h.client.get(link)
        assert shown.status_code == 200 and "Bekræft tilmelding" in shown.text
    assert h.rows()[0]["status"] == "pending"
    done = confirm(h, link)
    assert done.status_code == 200 and "Du er nu tilmeldt" in main_text(done)
    [row] = h.rows()
    assert row["status"] == "confirmed" and row["confirmed_at"] and row["ip_prefix"] is None
    assert [s.address for s in h.store.confirmed()] == ["anna.jensen@example.net"]


def test_the_same_address_twice_is_one_record_and_one_mail_and_the_answer_never_tells(
    harness: Harness,
) -> None:
    h = harness
    first = signup(h, "ole@example.org")
    second = signup(h, "OLE@example.org")
    assert len(h.rows()) == 1 and len(h.mails) == 1
    confirm(h, h.link())
    third = signup(h, "ole@example.org")
    assert len(h.mails) == 1  # a subscriber gets no new mail
    assert main_text(first) == main_text(second) == main_text(third)
    assert first.status_code == second.status_code == third.status_code == 200


def test_an_open_signup_is_mailed_again_after_a_few_minutes_with_a_working_link(
    harness: Harness,
) -> None:
    h = harness
    clock = [time.time()]
    h.service.clock = lambda: clock[0]
    signup(h, "kim@example.org")
    clock[0] += 60
    signup(h, "kim@example.org")
    assert len(h.mails) == 1
    clock[0] += 300
    signup(h, "kim@example.org")
    assert len(h.mails) == 2 and len(h.rows()) == 1
    assert confirm(h, h.link(0)).status_code == 200  # the first link still works


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "ikke-en-adresse"}, "er ikke en e-mailadresse"),
        ({"email": "a@b"}, "er ikke en e-mailadresse"),
        ({"email": "anna@@example.org"}, "er ikke en e-mailadresse"),
        ({"email": "æble@example.org"}, "er ikke en e-mailadresse"),
        ({"email": "x" * 250 + "@example.org"}, "er ikke en e-mailadresse"),
        ({"email": ""}, "Skriv din e-mailadresse"),
        ({"email": "   "}, "Skriv din e-mailadresse"),
        ({}, "Skriv din e-mailadresse"),
        ({"email": "a@example.org", "navn": "N" * 201}, "Navnet er for langt"),
    ],
)
def test_bad_signups_get_a_danish_page_with_4xx_and_store_nothing(
    harness: Harness, data: dict[str, str], message: str
) -> None:
    answer = harness.client.post("/tilmeld", data=data)
    assert answer.status_code == 400
    assert message in main_text(answer)
    assert answer.headers["content-type"].startswith("text/html")
    assert harness.rows() == [] and harness.mails == []


def test_a_body_over_the_limit_is_refused_unread(harness: Harness) -> None:
    h = harness
    big = {"email": "a@example.org", "navn": "x" * 5000}
    answer = h.client.post("/tilmeld", data=big)
    assert answer.status_code == 413 and "For mange data" in main_text(answer)
    streamed = h.client.post(
        "/tilmeld",
        content=iter([b"email=a%40example.org&navn=", b"x" * 5000]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
    assert h.rows() == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/tilmeld", 405),
        ("PUT", "/tilmeld", 405),
        ("DELETE", "/afmeld", 405),
        ("PATCH", "/bekraeft", 405),
        ("GET", "/ukendt", 404),
        ("POST", "/", 404),
    ],
)
def test_wrong_methods_and_paths_get_a_danish_page(
    harness: Harness, method: str, path: str, status: int
) -> None:
    answer = harness.client.request(method, path)
    assert answer.status_code == status
    assert answer.text.startswith("<!doctype html>") and 'lang="da"' in answer.text
    assert "Content-Security-Policy" in answer.headers
    if status == 405:
        assert answer.headers["allow"]


def test_forged_expired_and_reused_confirmation_tokens_are_refused(harness: Harness) -> None:
    h = harness
    signup(h, "mette@example.org")
    link = h.link()
    token = parse_qs(urlsplit(link).query)["token"][0]
    _, expires, nonce, signature = token.split(".")
    forged = f"{subscriber_id('eve@example.org')}.{expires}.{nonce}.{signature}"
    expired = confirmation_token(SECRET, "mette@example.org", nonce, int(time.time()) - 1)
    for bad, status, words in [
        (forged, 400, "ikke gyldigt"),
        (token[:-1] + ("0" if token[-1] != "0" else "1"), 400, "ikke gyldigt"),
        ("", 400, "ikke gyldigt"),
        ("a.b.c", 400, "ikke gyldigt"),
        (expired, 400, "udløbet"),
    ]:
        shown = h.client.get("/bekraeft", params={"token": bad})
        assert (shown.status_code, words in main_text(shown)) == (status, True), bad
        posted = h.client.post("/bekraeft", data={"token": bad, "t": "0.x"})
        assert 400 <= posted.status_code < 500
    assert h.rows()[0]["status"] == "pending"
    assert confirm(h, link).status_code == 200
    again = h.client.get(link)
    assert again.status_code == 410 and "allerede brugt" in main_text(again)
    stamp = form_stamp(SECRET, time.time() - 10)
    reused = h.client.post("/bekraeft", data={"token": token, "t": stamp})
    assert reused.status_code == 410 and "allerede brugt" in main_text(reused)


def test_confirming_needs_the_page_shown_first_and_a_human_pace(harness: Harness) -> None:
    h = harness
    h.service.min_form_seconds = 60.0
    signup(h, "per@example.org")
    token = parse_qs(urlsplit(h.link()).query)["token"][0]
    blind = h.client.post("/bekraeft", data={"token": token})
    assert blind.status_code == 400 and "Tryk på knappen" in main_text(blind)
    fast = confirm(h, h.link())
    assert fast.status_code == 400
    assert h.rows()[0]["status"] == "pending"
    h.service.min_form_seconds = 0.0
    assert confirm(h, h.link()).status_code == 200


def unsubscribe_url(address: str, style: str) -> str:
    token = unsubscribe_token(SECRET, address)
    if style == "email":
        return f"/afmeld?email={address.replace('@', '%40')}&token={token}"
    return f"/afmeld?id={subscriber_id(address)}&token={token}"


def subscribe(h: Harness, address: str) -> None:
    signup(h, address)
    assert confirm(h, h.link()).status_code == 200


@pytest.mark.parametrize("style", ["email", "id"])
def test_one_click_unsubscribe_by_email_or_id_removes_the_record(
    harness: Harness, style: str
) -> None:
    h = harness
    subscribe(h, "lise@example.org")
    url = unsubscribe_url("lise@example.org", style)
    for _ in range(2):
        shown = h.client.get(url)
        assert shown.status_code == 200 and "Afmeld" in shown.text
    assert h.store.is_confirmed("lise@example.org")  # a GET changes nothing
    h.client.cookies.clear()
    done = h.client.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "Du er afmeldt" in main_text(done)
    assert h.rows() == []
    assert h.suppressed() == [(suppression_key(SECRET, "lise@example.org"), "unsubscribed")]
    again = h.client.post(url, data={})  # the button, pressed twice
    assert again.status_code == 200


def test_the_unsubscribe_button_posts_back_to_the_same_url(harness: Harness) -> None:
    h = harness
    subscribe(h, "bo@example.org")
    url = unsubscribe_url("bo@example.org", "id")
    page = h.client.get(url)
    action = re.search(r'<form class="signup-form" method="post" action="([^"]+)"', page.text)
    assert action
    target = action.group(1).replace("&amp;", "&")
    assert target == URL.rstrip("/") + url
    assert h.client.post(target, data={}).status_code == 200
    assert not h.store.is_confirmed("bo@example.org")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("email=bo%40example.org&token=" + "0" * 32, 403),
        ("email=eve%40example.org&token=TOKEN", 403),  # bo's token for another address
        ("id=" + subscriber_id("eve@example.org") + "&token=TOKEN", 403),
        ("email=bo%40example.org", 400),
        ("token=TOKEN", 400),
        ("id=%%%&token=TOKEN", 400),
        ("", 400),
    ],
)
def test_a_forged_or_foreign_unsubscribe_token_gets_4xx_and_changes_nothing(
    harness: Harness, query: str, status: int
) -> None:
    h = harness
    subscribe(h, "bo@example.org")
    query = query.replace("TOKEN", unsubscribe_token(SECRET, "bo@example.org"))
    assert h.client.get(f"/afmeld?{query}").status_code == status
    posted = h.client.post(
        f"/afmeld?{query}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == status
    assert "Linket virker ikke" in main_text(posted)
    assert h.store.is_confirmed("bo@example.org") and h.suppressed() == []


def test_signing_up_again_after_unsubscribing_lifts_the_suppression(harness: Harness) -> None:
    h = harness
    subscribe(h, "eva@example.org")
    h.client.post(unsubscribe_url("eva@example.org", "email"), data={})
    assert h.suppressed()
    signup(h, "eva@example.org")
    assert h.suppressed()  # not before the new signup is confirmed
    assert confirm(h, h.link()).status_code == 200
    assert h.suppressed() == [] and h.store.is_confirmed("eva@example.org")


def test_robots_are_thanked_and_forgotten(harness: Harness) -> None:
    h = harness
    honeypot = signup(h, "bot@example.org", website="http://spam.example")
    assert honeypot.status_code == 200 and "Tak" in main_text(honeypot)
    made_up = signup(h, "bot2@example.org", t="123.abc")
    assert made_up.status_code == 200
    assert h.rows() == [] and h.mails == []


def test_the_time_trap_catches_a_form_of_the_service_posted_at_once(harness: Harness) -> None:
    h = harness
    h.service.min_form_seconds = 30.0
    error_page = signup(h, "ikke-en-adresse")
    stamp = re.search(r'name="t" value="([^"]+)"', error_page.text)
    assert stamp, "the service's pages carry a stamp in the signup box"
    assert signup(h, "hurtig@example.org", t=stamp.group(1)).status_code == 200
    assert h.rows() == []
    h.service.min_form_seconds = 0.0
    signup(h, "rolig@example.org", t=stamp.group(1))
    assert [row["address"] for row in h.rows()] == ["rolig@example.org"]


def test_the_rate_limit_counts_signups_per_client(harness: Harness) -> None:
    h = harness
    h.service.limit = RateLimit(3)
    answers = [signup(h, f"n{n}@example.org").status_code for n in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    assert len(h.rows()) == 3


def test_a_mail_that_cannot_be_sent_is_a_503_and_can_be_tried_again(harness: Harness) -> None:
    h = harness
    sent = h.service.mailer

    def broken(message: EmailMessage) -> None:
        raise MailFailed("127.0.0.1:25: connection refused")

    h.service.mailer = broken
    answer = signup(h, "ny@example.org")
    assert answer.status_code == 503 and "Mailen kunne ikke sendes" in main_text(answer)
    h.service.mailer = sent
    assert signup(h, "ny@example.org").status_code == 200
    assert len(h.mails) == 1 and len(h.rows()) == 1


def test_a_locked_database_is_a_503_and_nothing_is_half_written(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    root = with_service(site_copy("basic"))
    h = make_harness(root, tmp_path / "subscribers.db", busy_timeout=0.2)
    subscribe(h, "fast@example.org")
    blocker = sqlite3.connect(tmp_path / "subscribers.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        answers = [
            signup(h, "laast@example.org"),
            h.client.post(unsubscribe_url("fast@example.org", "email"), data={}),
        ]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    for answer in answers:
        assert answer.status_code == 503
        assert "midlertidigt utilgængelig" in main_text(answer)
    assert [row["address"] for row in h.rows()] == ["fast@example.org"]
    assert h.suppressed() == [] and len(h.mails) == 1
    assert signup(h, "laast@example.org").status_code == 200  # and it recovers
    h.store.close()


def test_a_read_only_database_is_a_503(site_copy: Callable[[str], Path], tmp_path: Path) -> None:
    root = with_service(site_copy("basic"))
    db = tmp_path / "subscribers.db"
    Store(db).close()
    h = make_harness(root, db)
    h.store.close()
    h.service.store = Store(db, read_only=True)
    answer = signup(h, "ro@example.org")
    assert answer.status_code == 503
    assert h.rows() == [] and h.mails == []


def test_every_page_has_the_sites_look_and_policy(harness: Harness) -> None:
    h = harness
    answer = signup(h, "anna@example.org")
    html = answer.text
    header = answer.headers["content-security-policy"]
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert meta and meta.group(1).replace("&#39;", "'") == header
    assert "script-src 'self'" in header and "form-action 'self'" in header
    assert "https://example.org" in header  # the header's search box posts to the site
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    style = re.search(r'<link rel="stylesheet" href="(/static/cfb\.[0-9a-f]+\.css)">', html)
    assert style, "the theme's style sheet, served by the service"
    css = h.client.get(style.group(1))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert b".signup" in css.content
    assert 'href="https://example.org/cfb/cases/"' in html  # the site's own navigation
    assert h.client.get("/static/ukendt.css").status_code == 404


def test_the_built_site_posts_its_signup_form_to_the_service(
    site_copy: Callable[[str], Path],
) -> None:
    from sitegen.build.pipeline import build_files

    root = with_service(site_copy("basic"))
    files = {f.path: f.data for f in build_files(root, default_options()).files}
    home = files["index.html"].decode()
    assert f'<form class="signup-form" method="post" action="{URL}tilmeld">' in home
    assert f"form-action &#39;self&#39; {URL}tilmeld;" in home
    assert '<input type="hidden" name="side" value="https://example.org/cfb/">' in home
    assert 'name="website"' in home  # the honeypot
    message = files["nyhedsbrev/juni-2013/message.eml"].decode()
    assert f"<{URL}afmeld>" in message  # the general copy names the service's page


def test_a_service_under_a_sub_path_answers_there(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    url = "https://example.org/nyhedsbrev/"
    root = with_service(site_copy("basic"), url)
    h = make_harness(root, tmp_path / "subscribers.db")
    h.client.base_url = h.client.base_url.copy_with(host="example.org")
    answer = h.client.post("/nyhedsbrev/tilmeld", data={"email": "sti@example.org"})
    assert answer.status_code == 200, main_text(answer)
    assert h.link().startswith(url + "bekraeft?token=")
    style = re.search(r'href="(/nyhedsbrev/static/cfb\.[0-9a-f]+\.css)"', answer.text)
    assert style and h.client.get(style.group(1)).status_code == 200
    assert h.client.post("/tilmeld", data={"email": "x@example.org"}).status_code == 404
    h.store.close()
