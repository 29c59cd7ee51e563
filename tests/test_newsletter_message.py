"""The headers of the email: folded without changing their text, readable by mail programs."""

from __future__ import annotations

import base64
import email
import email.policy
import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from sitegen.build.pipeline import build_files, load_site
from sitegen.config import default_options
from sitegen.newsletter.send import MessageFactory
from sitegen.render.email import unsubscribe_token
from sitegen.subscribers.recipients import Recipient
from tests.conftest import CASE

SECRET = b"tokenhemmelighed"
TITLES = [
    # The standard folder doubled the space before the encoded word here ...
    "Nyhedsbrev maj 2026: erfaringer med samskabelse og klimatilpasning i Køge",
    # ... and dropped the one between two encoded words here.
    "Borgerpaneler, fællesskab borgerbudget Ærø Køge med Holbæk Borgerpaneler, "
    "klimatilpasning Holbæk marts Nyhedsbrev Nyhedsbrev Ærø",
    "fællesskab marts på samskabelse fællesskab Køge",
    "Et langt emne uden danske bogstaver, der skal foldes over flere linjer uden at miste noget",
    "Hvad betyder =?utf-8?q?K=C3=B8ge?= i en emnelinje?",
    "Kort: Ærø",
]
ISSUE = """\
---
title: "{title}"
date: 2026-05-01
cases:
  - ../cases/a.md
---

Kære læser.
"""


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def raw_headers(data: bytes) -> dict[str, str]:
    """Header name -> its raw value, unfolded as RFC 5322 says (CRLF removed, nothing else)."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n(?=[ \t])", "", head)
    return dict(line.split(": ", 1) for line in unfolded.split("\r\n"))


@pytest.fixture
def make_site(new_site: Callable[[dict[str, str]], Path]) -> Callable[[str], Path]:
    def make(title: str) -> Path:
        return new_site(
            {
                "sitegen.toml": '[site]\nbase_url = "https://example.org/"\n[newsletter]\n'
                'unsubscribe_url = "https://example.org/afmeld"\n',
                "content/cases/a.md": CASE.format(title="A"),
                "content/newsletter/maj.md": ISSUE.format(title=title),
            }
        )

    return make


@pytest.mark.parametrize("title", TITLES)
def test_the_subject_reads_exactly_as_the_title(
    make_site: Callable[[str], Path], title: str
) -> None:
    root = make_site(title)
    files = {f.path: f.data for f in build_files(root, default_options()).files}
    built = files["nyhedsbrev/maj/message.eml"]
    assert parse(built)["Subject"] == title
    assert max(len(line) for line in built.split(b"\r\n\r\n")[0].split(b"\r\n")) <= 78
    site = load_site(root, default_options())
    factory = MessageFactory(site, site.newsletter_issues[0], SECRET)
    anna = Recipient("anna@example.org", "Anna Ærbødig", 2)
    assert parse(factory.message(anna))["Subject"] == title
    assert parse(factory.message(anna, subject_prefix="[TEST] "))["Subject"] == "[TEST] " + title


def test_list_unsubscribe_is_plain_urls_folded_between_them(
    make_site: Callable[[str], Path],
) -> None:
    root = make_site(TITLES[0])
    site = load_site(root, default_options())
    factory = MessageFactory(site, site.newsletter_issues[0], SECRET)
    data = factory.message(Recipient("anna.jensen@example.net", "Anna Jensen", 2))
    token = unsubscribe_token(SECRET, "anna.jensen@example.net")
    subscriber = base64.urlsafe_b64encode(b"anna.jensen@example.net").decode().rstrip("=")
    page = f"https://example.org/afmeld?id={subscriber}&token={token}"
    mailto = "mailto:info@borgerdialog.dk?subject=Afmeld%20nyhedsbrev"
    assert raw_headers(data)["List-Unsubscribe"] == f"<{mailto}>, <{page}>"  # no encoded words
    assert raw_headers(data)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The page gets the address back from the link, and the token proves it was ours.
    query = parse_qs(urlsplit(page).query)
    padded = query["id"][0] + "=" * (-len(query["id"][0]) % 4)
    assert base64.urlsafe_b64decode(padded).decode() == "anna.jensen@example.net"
    assert query["token"] == [token]
    # The address itself stands in no link: spam filters count that against a message.
    assert "anna.jensen%40example.net" not in data.decode()
    assert not re.search(r"(?:href=3D\"|<)https?://[^\">]*anna\.jensen@", data.decode())


def test_the_built_message_is_addressed_to_the_readers_as_a_group(
    make_site: Callable[[str], Path],
) -> None:
    root = make_site(TITLES[0])
    files = {f.path: f.data for f in build_files(root, default_options()).files}
    message = parse(files["nyhedsbrev/maj/message.eml"])
    assert str(message["To"]) == "Nyhedsbrevets modtagere:;"
    assert message["To"].groups[0].display_name == "Nyhedsbrevets modtagere"
    assert message["To"].addresses == ()


def test_the_preheader_is_hidden_without_hiding_its_colour_and_comes_first(
    make_site: Callable[[str], Path],
) -> None:
    root = make_site(TITLES[0])
    files = {f.path: f.data for f in build_files(root, default_options()).files}
    html = files["nyhedsbrev/maj/email.html"].decode()
    body = html.split("<body", 1)[1].split(">", 1)[1].lstrip()
    match = re.match(r'<div class="preheader" style="([^"]*)">([^<]*)</div>', body)
    assert match, body[:300]
    style = {
        name.strip(): value.strip()
        for name, value in (item.split(":", 1) for item in match.group(1).split(";") if item)
    }
    assert style["display"] == "none" and style["mso-hide"] == "all"
    assert style["max-height"] == "0" and style["overflow"] == "hidden"
    assert not {"color", "font-size", "opacity"} & style.keys()  # no camouflage
    assert match.group(2).startswith("Kære læser.")
