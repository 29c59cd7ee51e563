"""`sitegen subscribers list|export|import|remove`, and `newsletter send` reading the database.

Real SQLite files in a temporary folder, a real SMTP server on 127.0.0.1 (aiosmtpd).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import dkim
import pytest

from sitegen.build.pipeline import load_site
from sitegen.cli import main
from sitegen.config import default_options
from sitegen.newsletter.send import MessageFactory
from sitegen.render.email import subscriber_id, unsubscribe_token
from sitegen.render.signing import SIGNED_HEADERS, dkim_key
from sitegen.subscribers.recipients import Recipient
from sitegen.subscribers.store import UNSUBSCRIBED, Store
from sitegen.subscribers.tokens import new_nonce, suppression_key
from tests.servers import Inbox
from tests.test_newsletter_spam import LIMIT, score, spamassassin

SECRET = "tokenhemmelighed"
URL = "https://nyhedsbrev.example.org/"


@pytest.fixture
def site(site_copy: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SITEGEN_UNSUBSCRIBE_SECRET", SECRET)
    root = site_copy("basic")
    text = (root / "sitegen.toml").read_text(encoding="utf-8")
    (root / "sitegen.toml").write_text(text + f'\n[subscribers]\nurl = "{URL}"\n')
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_csv(root: Path, name: str, rows: list[str]) -> Path:
    path = root / name
    path.write_text("email;navn\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def confirmed_in(root: Path, *addresses: str) -> None:
    """Subscribers who signed up and confirmed, as the service records them."""
    store = Store(root / "subscribers.db")
    for address in addresses:
        nonce = new_nonce()
        key = suppression_key(SECRET.encode(), address)
        consent = ("Vi bruger kun din adresse ...", "abc123abc123")
        store.signup(address, "", URL, consent, "127.0.0.0/24", time.time(), nonce, 300)
        assert store.confirm(address, nonce, key, time.time())
    store.close()


def test_import_list_export_and_remove(
    site: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listed = write_csv(
        site,
        "gammel-liste.csv",
        ["anna@example.org;Anna", "bo@example.org;Bo", "ikke-en-adresse;X", "ANNA@example.org;A"],
    )
    code, out, _ = run(capsys, "subscribers", "list", "--site", str(site))
    assert (code, out) == (0, "")
    code, out, err = run(capsys, "subscribers", "import", str(listed), "--site", str(site))
    assert code == 0
    assert "2 added, subscribed as imported; 0 already in the database" in out
    assert "'ikke-en-adresse' is not an e-mail address" in err
    code, out, _ = run(capsys, "subscribers", "list", "--site", str(site))
    assert out.split() == ["anna@example.org", "bo@example.org"]
    code, out, _ = run(capsys, "subscribers", "export", "--site", str(site))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["address"] for row in rows] == ["anna@example.org", "bo@example.org"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert rows[0]["source"] == "import" and rows[0]["status"] == "confirmed"
    assert rows[0]["consent_text"] == f"Importeret fra gammel-liste.csv den {today}"
    assert rows[0]["confirmed_at"].startswith(today) and rows[0]["name"] == "Anna"
    code, out, _ = run(capsys, "subscribers", "remove", "bo@example.org", "--site", str(site))
    assert code == 0 and "bo@example.org: removed" in out
    code, out, _ = run(capsys, "subscribers", "export", "--format", "json", "--site", str(site))
    document = json.loads(out)
    assert [row["address"] for row in document["subscribers"]] == ["anna@example.org"]
    assert document["suppressed"] == {"removed": 1}
    for file in site.glob("subscribers.db*"):  # erased: no copy of the address in any file
        assert b"bo@example.org" not in file.read_bytes(), file
    code, out, _ = run(capsys, "subscribers", "import", str(listed), "--site", str(site))
    assert "0 added" in out and "1 already in the database" in out and "1 left out" in out
    moved = tmp_path / "andet-sted.db"  # --db names another database
    code, out, _ = run(
        capsys, "subscribers", "import", str(listed), "--db", str(moved), "--site", str(site)
    )
    assert "2 added" in out and moved.exists()


def test_import_with_confirm_mails_requests_and_subscribes_nobody_yet(
    site: Path, capsys: pytest.CaptureFixture[str], inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    listed = write_csv(site, "liste.csv", ["anna@example.org;Anna", "bo@example.org;Bo"])
    code, out, err = run(
        capsys,
        "subscribers",
        "import",
        str(listed),
        "--confirm",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--site",
        str(site),
    )
    assert code == 0, err
    assert "2 added, asked to confirm (2 mailed)" in out
    assert sorted(server.recipients()) == ["anna@example.org", "bo@example.org"]
    for message in server.parsed():
        assert f"{URL}bekraeft?token=" in message.get_content()
    assert run(capsys, "subscribers", "list", "--site", str(site))[1] == ""


def test_send_without_recipients_goes_to_the_confirmed_subscribers(
    site: Path, capsys: pytest.CaptureFixture[str], inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    confirmed_in(site, "anna@example.org", "bo@example.org")
    store = Store(site / "subscribers.db")  # signed up, never confirmed: not a subscriber
    consent = ("tekst", "v1")
    store.signup("venter@example.org", "", "", consent, "", time.time(), new_nonce(), 300)
    store.close()
    smtp = ["--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--rate", "0"]
    base = ["newsletter", "send", "juni-2013", "--site", str(site), *smtp]
    code, out, err = run(capsys, *base)
    assert code == 0, err
    assert "to 2 of 2 recipients in the subscribers database" in out
    code, out, err = run(capsys, *base, "--send")
    assert code == 0, err
    assert "juni-2013: sent 2, skipped 0, failed 0, uncertain 0" in out
    assert sorted(server.recipients()) == ["anna@example.org", "bo@example.org"]
    assert (site / "nyhedsbrev-juni-2013.sendlog").exists()
    for (rcpt,), message in zip((r for r, _ in server.messages), server.parsed(), strict=True):
        token = unsubscribe_token(SECRET.encode(), rcpt)
        header = f"{URL}afmeld?email={rcpt.replace('@', '%40')}&token={token}"
        assert f"<{header}>" in message["List-Unsubscribe"]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"{URL}afmeld?id={subscriber_id(rcpt)}&amp;token={token}" in html
        assert f"email={rcpt.replace('@', '%40')}" not in html


def test_send_to_a_list_leaves_out_who_unsubscribed_or_was_removed(
    site: Path, capsys: pytest.CaptureFixture[str], inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    confirmed_in(site, "gik@example.org")
    store = Store(site / "subscribers.db")
    key = suppression_key(SECRET.encode(), "gik@example.org")
    store.forget("gik@example.org", key, UNSUBSCRIBED, time.time())
    store.close()
    assert run(capsys, "subscribers", "remove", "slettet@example.org", "--site", str(site))[0] == 0
    listed = write_csv(
        site, "liste.csv", ["bliver@example.org;B", "GIK@example.org;G", "slettet@example.org;S"]
    )
    smtp = ["--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--rate", "0"]
    code, out, err = run(
        capsys,
        "newsletter",
        "send",
        "januar-2022",
        "--recipients",
        str(listed),
        "--send",
        "--site",
        str(site),
        *smtp,
    )
    assert code == 0, err
    assert "januar-2022: sent 1, skipped 0, failed 0, uncertain 0, unsubscribed 2" in out
    assert list(server.recipients()) == ["bliver@example.org"]


def test_a_send_that_cannot_check_the_suppression_list_stops(
    site: Path,
    capsys: pytest.CaptureFixture[str],
    inbox: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, port = inbox
    run(capsys, "subscribers", "remove", "slettet@example.org", "--site", str(site))
    monkeypatch.delenv("SITEGEN_UNSUBSCRIBE_SECRET")
    listed = write_csv(site, "liste.csv", ["slettet@example.org;S"])
    code, _, err = run(
        capsys,
        "newsletter",
        "send",
        "januar-2022",
        "--recipients",
        str(listed),
        "--send",
        "--site",
        str(site),
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
    )
    assert code == 1
    assert "the secret is needed to leave out the 1 addresses" in err
    assert server.messages == []


def test_send_without_a_database_or_subscribers_says_so(
    site: Path, capsys: pytest.CaptureFixture[str], inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    smtp = ["--smtp-host", "127.0.0.1", "--smtp-port", str(port)]
    code, _, err = run(capsys, "newsletter", "send", "juni-2013", "--site", str(site), *smtp)
    assert code == 1 and "no subscribers database" in err
    Store(site / "subscribers.db").close()
    code, _, err = run(capsys, "newsletter", "send", "juni-2013", "--site", str(site), *smtp)
    assert code == 1 and "no confirmed subscribers to send to" in err
    assert server.messages == []


def rsa_key(folder: Path) -> tuple[str, bytes]:
    """A new 2048-bit key (PEM) and its public part as a DKIM DNS record."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is required: scripts/test installs it"
    private = folder / "dkim.pem"
    subprocess.run(
        [openssl, "genrsa", "-traditional", "-out", str(private), "2048"],
        check=True,
        capture_output=True,
    )
    public = subprocess.run(
        [openssl, "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return private.read_text(), record


def test_dkim_signs_the_list_headers_and_verifies(
    site: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    private, record = rsa_key(tmp_path)
    monkeypatch.setenv("SITEGEN_DKIM_PRIVATE_KEY", private)
    text = (site / "sitegen.toml").read_text(encoding="utf-8")
    text = text.replace(
        "[newsletter]\n", '[newsletter]\ndkim_selector = "cfb"\ndkim_domain = "example.org"\n'
    )
    (site / "sitegen.toml").write_text(text, encoding="utf-8")
    loaded = load_site(site, default_options())
    key, problems = dkim_key(loaded.config)
    assert problems == [] and key is not None
    [issue] = [i for i in loaded.newsletter_issues if i.slug == "juni-2013"]
    data = MessageFactory(loaded, issue, SECRET.encode(), key).message(
        Recipient("anna@example.net", "Anna", 1)
    )
    assert data.startswith(b"DKIM-Signature:")
    signature = data.split(b"\r\n\r\n")[0].split(b"DKIM-Signature:")[1].split(b"\r\nSubject")[0]
    signed = re.search(rb"h=([^;]+)", signature)
    assert signed
    names = {name.strip().lower() for name in re.sub(rb"\s", b"", signed.group(1)).split(b":")}
    assert {name.lower().encode() for name in SIGNED_HEADERS} <= names

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"cfb._domainkey.example.org."
        return record

    assert dkim.verify(data, dnsfunc=dns)
    tampered = data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"X: y")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_without_its_key_is_a_problem_named_at_its_variable(site: Path) -> None:
    text = (site / "sitegen.toml").read_text(encoding="utf-8")
    text = text.replace("[newsletter]\n", '[newsletter]\ndkim_selector = "cfb"\n')
    (site / "sitegen.toml").write_text(text, encoding="utf-8")
    key, problems = dkim_key(load_site(site, default_options()).config)
    assert key is None
    assert problems == [
        "sitegen.toml: newsletter.dkim_domain: needed to sign with DKIM "
        "(newsletter.dkim_selector is set)",
        "SITEGEN_DKIM_PRIVATE_KEY: the DKIM private key (PEM) is not in this environment "
        "variable (newsletter.dkim_selector is set)",
    ]


def test_a_delivered_copy_with_the_service_links_scores_under_one_point(
    site: Path, tmp_path: Path
) -> None:
    spamassassin()
    loaded = load_site(site, default_options())
    [issue] = [i for i in loaded.newsletter_issues if i.slug == "juni-2013"]
    data = MessageFactory(loaded, issue, SECRET.encode()).message(
        Recipient("anna.jensen@example.net", "Anna Jensen", 2)
    )
    assert b"afmeld?email=anna.jensen%40example.net&token=" in data  # List-Unsubscribe
    points, rules = score(data, tmp_path)
    assert points < LIMIT, f"{points} points ({', '.join(rules)})"


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("https://nyhedsbrev.example.org/", True),
        ("https://example.org/nyhedsbrev/", True),
        ("http://127.0.0.1:8001/", True),
        ("http://nyhedsbrev.example.org/", False),
        ("nyhedsbrev.example.org", False),
        ("https://nyhedsbrev.example.org/?x=1", False),
    ],
)
def test_the_service_url_must_be_https_except_on_this_machine(
    site: Path, capsys: pytest.CaptureFixture[str], value: str, accepted: bool
) -> None:
    text = (site / "sitegen.toml").read_text(encoding="utf-8").replace(URL, value)
    (site / "sitegen.toml").write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "subscribers", "list", "--site", str(site))
    assert (code == 0) is accepted, err
    if not accepted:
        assert "subscribers.url: must be an https URL" in err
