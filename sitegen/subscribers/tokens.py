"""Signed tokens: confirmation links, unsubscribe links, form stamps and suppression keys.

One secret signs them all (`newsletter.unsubscribe_secret_env`, SITEGEN_UNSUBSCRIBE_SECRET by
default); each kind signs under its own label, so a token of one kind is never valid as another.
Every comparison is in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from sitegen.config import Config
from sitegen.render.email import subscriber_id, unsubscribe_token


class BadToken(Exception):
    """A token that is forged, damaged, expired or for another purpose; the message says which."""


def secret_from_environment(config: Config) -> bytes | None:
    """The signing secret, or None when its environment variable is empty or unset."""
    value = os.environ.get(config.newsletter.unsubscribe_secret_env, "")
    return value.encode() if value else None


def _sign(secret: bytes, label: str, payload: str) -> str:
    return hmac.new(secret, f"{label}:{payload}".encode(), hashlib.sha256).hexdigest()[:32]


def decode_id(value: str) -> str:
    """The address from an unsubscribe link's `id` (URL-safe base64 without padding)."""
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadToken("the link is damaged") from None


def unsubscribe_ok(secret: bytes, address: str, token: str) -> bool:
    """Whether `token` is the unsubscribe token of `address` (render/email.py makes them)."""
    return hmac.compare_digest(unsubscribe_token(secret, address), token)


@dataclass(frozen=True)
class Confirmation:
    """What a valid confirmation token says: this address, this signup (nonce), until when."""

    address: str
    nonce: str
    expires: int  # Unix time


def new_nonce() -> str:
    return secrets.token_hex(8)


def confirmation_token(secret: bytes, address: str, nonce: str, expires: int) -> str:
    """`<id>.<expires>.<nonce>.<signature>`: the link in the confirmation mail."""
    payload = f"{subscriber_id(address.lower())}.{expires}.{nonce}"
    return f"{payload}.{_sign(secret, 'confirm', payload)}"


def read_confirmation(secret: bytes, token: str, now: float) -> Confirmation:
    """The confirmation a token carries; raises BadToken when it is forged or expired."""
    parts = token.split(".")
    if len(parts) != 4 or len(token) > 600:
        raise BadToken("the link is damaged")
    encoded, expires, nonce, signature = parts
    payload = f"{encoded}.{expires}.{nonce}"
    if not hmac.compare_digest(_sign(secret, "confirm", payload), signature):
        raise BadToken("the link is not valid")
    if not expires.isdigit() or int(expires) < now:
        raise BadToken("the link has expired")
    return Confirmation(decode_id(encoded), nonce, int(expires))


def form_stamp(secret: bytes, now: float) -> str:
    """A signed time, put in a form the service shows: its POST proves when it was shown."""
    moment = str(int(now * 1000))
    return f"{moment}.{_sign(secret, 'stamp', moment)}"


def stamp_age(secret: bytes, stamp: str, now: float) -> float:
    """Seconds since the form with `stamp` was shown; raises BadToken for a forged stamp."""
    moment, _, signature = stamp.partition(".")
    if not moment.isdigit() or not hmac.compare_digest(_sign(secret, "stamp", moment), signature):
        raise BadToken("the form is not one of ours")
    return now - int(moment) / 1000


def suppression_key(secret: bytes, address: str) -> str:
    """The keyed hash kept of an address that must not be mailed again: no address in it."""
    return hmac.new(secret, f"suppress:{address.strip().lower()}".encode(), "sha256").hexdigest()
