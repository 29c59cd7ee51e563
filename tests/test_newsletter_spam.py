"""SpamAssassin (Debian's package, local tests only) scores the email well under 1 point.

Both the built message.eml and a copy as it is delivered to one recipient. scripts/test
installs spamassassin, so in CI this test runs; elsewhere it is skipped when it is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen.build.pipeline import build_files, load_site
from sitegen.config import default_options
from sitegen.newsletter.send import MessageFactory
from sitegen.subscribers.recipients import Recipient

LIMIT = 1.0


def spamassassin() -> str:
    found = shutil.which("spamassassin")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("spamassassin is not installed; scripts/test installs it")
        pytest.skip("spamassassin is not installed (apt-get install spamassassin)")
    return found


def score(message: bytes, home: Path) -> tuple[float, list[str]]:
    """SpamAssassin's score and the rules that hit, without network tests (-L)."""
    env = dict(os.environ, HOME=str(home), LANG="C", LC_ALL="C")  # its prefs go to HOME
    report = subprocess.run(
        [spamassassin(), "-L", "-t"],
        input=message,
        capture_output=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout.decode("utf-8", "replace")
    details = report.split("Content analysis details:")[-1]
    found = re.search(r"\(\s*(-?[\d.]+) points", details)
    assert found, report[-2000:]
    rules = re.findall(r"^\s*-?[\d.]+ ([A-Z0-9_]+)\s", details, re.MULTILINE)
    return float(found.group(1)), rules


def test_built_and_delivered_messages_score_under_one_point(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    spamassassin()
    root = site_copy("basic")
    files = {f.path: f.data for f in build_files(root, default_options()).files}
    site = load_site(root, default_options())
    [issue] = [i for i in site.newsletter_issues if i.slug == "juni-2013"]
    factory = MessageFactory(site, issue, b"tokenhemmelighed")
    messages = {
        "message.eml": files["nyhedsbrev/juni-2013/message.eml"],
        "delivered": factory.message(Recipient("anna.jensen@example.net", "Anna Jensen", 2)),
        "test copy": factory.message(
            Recipient("redaktion@example.org", "", 0), subject_prefix="[TEST] "
        ),
    }
    for name, data in messages.items():
        points, rules = score(data, tmp_path)
        assert points < LIMIT, f"{name}: {points} points ({', '.join(rules)})"
