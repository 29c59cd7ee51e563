"""DKIM signatures (RFC 6376) on outgoing mail, with dkimpy, when the site configures a key.

Gmail's and Yahoo's bulk-sender rules want a DKIM signature, and RFC 8058 wants the
List-Unsubscribe headers covered by it. The private key is read from the environment variable
`newsletter.dkim_key_env`, never from sitegen.toml.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sitegen.config import CONFIG_FILE, Config

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


@dataclass(frozen=True)
class DkimKey:
    selector: str
    domain: str
    private_key: bytes  # PEM; never printed

    def __repr__(self) -> str:
        return f"DkimKey(selector={self.selector!r}, domain={self.domain!r})"


def dkim_key(config: Config) -> tuple[DkimKey | None, list[str]]:
    """The key to sign with, None when signing is not configured, and what is missing."""
    settings = config.newsletter
    if not (settings.dkim_selector or settings.dkim_domain):
        return None, []
    problems = [
        f"{CONFIG_FILE}: newsletter.{name}: needed to sign with DKIM (newsletter.dkim_"
        f"{'domain' if name == 'dkim_selector' else 'selector'} is set)"
        for name, value in (
            ("dkim_selector", settings.dkim_selector),
            ("dkim_domain", settings.dkim_domain),
        )
        if not value
    ]
    pem = os.environ.get(settings.dkim_key_env, "")
    if not pem:
        problems.append(
            f"{settings.dkim_key_env}: the DKIM private key (PEM) is not in this environment "
            "variable (newsletter.dkim_selector is set)"
        )
    elif "PRIVATE KEY" not in pem:
        problems.append(f"{settings.dkim_key_env}: does not hold a PEM private key")
    if problems:
        return None, problems
    return DkimKey(settings.dkim_selector, settings.dkim_domain, pem.encode()), []


def sign(message: bytes, key: DkimKey | None) -> bytes:
    """`message` with a DKIM-Signature header in front (unchanged without a key).

    A listed header the message lacks is signed as absent, so nobody can add it later.
    """
    if key is None:
        return message
    import dkim  # only when signing: the import is not free

    signature = dkim.sign(
        message,
        key.selector.encode(),
        key.domain.encode(),
        key.private_key,
        include_headers=[name.encode() for name in SIGNED_HEADERS],
        canonicalize=(b"relaxed", b"relaxed"),
    )
    return bytes(signature) + message
