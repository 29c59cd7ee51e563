"""The whole loop in a real Chromium: sign up on the home page, confirm, receive, unsubscribe.

The built site is served on 127.0.0.1, the service is started by `sitegen subscribers serve`,
the mail goes to a real SMTP server on 127.0.0.1 (aiosmtpd). No script is loaded: the forms
work without JavaScript.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import serve_directory
from playwright.sync_api import Browser, Page

from sitegen.build.pipeline import build
from sitegen.cli import main
from sitegen.config import default_options
from tests.servers import Inbox
from tests.test_subscribers_process import SECRET, free_port, running_service, service_site
from tests.test_subscribers_process import smtp as smtp  # the SMTP server fixture

pytestmark = pytest.mark.browser
READER = "laeser@example.org"


def wait_for_mail(inbox: Inbox, count: int) -> list[EmailMessage]:
    deadline = time.monotonic() + 20
    while len(inbox.messages) < count:
        assert time.monotonic() < deadline, "no mail arrived"
        time.sleep(0.05)
    return [
        email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[misc]
        for _, data in inbox.messages
    ]


def subscribers_list(capsys: pytest.CaptureFixture[str], root: Path) -> list[str]:
    assert main(["subscribers", "list", "--site", str(root)]) == 0
    return capsys.readouterr().out.split()


def accessible(page: Page, artifacts: Path, name: str) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    page.screenshot(path=str(artifacts / f"subscribers-{name}.png"), full_page=True)


def test_sign_up_confirm_receive_and_unsubscribe_in_chromium(
    browser: Browser,
    site_copy: Callable[[str], Path],
    tmp_path: Path,
    smtp: tuple[Inbox, int],
    artifacts: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox, smtp_port = smtp
    monkeypatch.setenv("SITEGEN_UNSUBSCRIBE_SECRET", SECRET)
    port = free_port()
    service = f"http://127.0.0.1:{port}/"
    root = service_site(site_copy("basic"), port)
    out = tmp_path / "output"
    build(root, default_options(), out)
    smtp_flags = ["--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port), "--rate", "0"]
    with (
        serve_directory(out, prefix="/cfb/") as site_url,
        running_service(root, port, smtp_port, root / "subscribers.db"),
    ):
        assert subscribers_list(capsys, root) == []
        context = browser.new_context()
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text))
        # No script runs (the forms work without one; axe is injected by the driver), and
        # nothing outside this machine is asked for.
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith("http://127.0.0.1:")
                and route.request.resource_type != "script"
                else route.abort()
            ),
        )
        page.goto(site_url)
        signup = page.get_by_role("complementary")
        signup.get_by_label("Din e-mailadresse").fill(READER)
        signup.get_by_role("button", name="Tilmeld").click()
        page.wait_for_url(service + "tilmeld")
        assert page.get_by_role("heading", level=1).inner_text() == "Tak - tjek din indbakke"
        accessible(page, artifacts, "tak")

        [mail] = wait_for_mail(inbox, 1)
        assert mail["To"].addresses[0].addr_spec == READER
        found = re.search(r"http://127\.0\.0\.1:\d+/bekraeft\?token=\S+", mail.get_content())
        assert found
        page.goto(found.group(0))
        assert page.get_by_role("heading", level=1).inner_text() == "Bekræft din tilmelding"
        accessible(page, artifacts, "bekraeft")
        assert subscribers_list(capsys, root) == []  # opening the link confirmed nothing
        time.sleep(1.2)  # a person reads the page before pressing the button
        page.get_by_role("button", name="Bekræft tilmelding").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Du er nu tilmeldt"
        accessible(page, artifacts, "tilmeldt")
        assert subscribers_list(capsys, root) == [READER]

        assert (
            main(["newsletter", "send", "juni-2013", "--send", "--site", str(root), *smtp_flags])
            == 0
        )
        assert "juni-2013: sent 1," in capsys.readouterr().out
        issue = wait_for_mail(inbox, 2)[1]
        assert issue["Subject"] == "Nyhedsbrev juni 2013: Holbæk"
        assert [rcpt for rcpt, _ in inbox.messages][1] == [READER]

        html = issue.get_body(("html",)).get_content()  # type: ignore[union-attr]
        body_link = re.search(r'href="(http://127\.0\.0\.1:\d+/afmeld\?id=[^"]+)"', html)
        assert body_link
        page.goto(body_link.group(1).replace("&amp;", "&"))
        assert page.get_by_role("heading", level=1).inner_text() == "Afmeld nyhedsbrevet"
        accessible(page, artifacts, "afmeld")
        assert problems == [], "CSP violations or script errors"
        context.close()

        one_click = re.search(r"<(http://[^>]+)>", str(issue["List-Unsubscribe"]))
        assert one_click and "email=laeser%40example.org" in one_click.group(1)
        assert issue["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        request = urllib.request.Request(
            one_click.group(1),
            data=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        assert subscribers_list(capsys, root) == []

        listed = root / "gammel-liste.csv"
        listed.write_text(f"email;navn\n{READER};Læser\nny@example.org;Ny\n", encoding="utf-8")
        assert (
            main(
                [
                    "newsletter",
                    "send",
                    "januar-2022",
                    "--recipients",
                    str(listed),
                    "--send",
                    "--site",
                    str(root),
                    *smtp_flags,
                ]
            )
            == 0
        )
        assert "januar-2022: sent 1, skipped 0, failed 0, uncertain 0, unsubscribed 1" in (
            capsys.readouterr().out
        )
        assert [rcpt for rcpt, _ in inbox.messages][2:] == [["ny@example.org"]]
