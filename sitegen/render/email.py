"""A newsletter issue as an email: inlined CSS, absolute URLs, a text part, a MIME message."""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import functools
import hashlib
import hmac
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import Address, Group
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import css_inline

from sitegen.config import Config
from sitegen.content.issues import IMG_TAG
from sitegen.content.model import NewsletterIssue
from sitegen.render.plaintext import html_to_text

EMAIL_TEMPLATE = "email/issue.html"
CONTENT_WIDTH = 552  # 600px container minus its padding
SEND_HOUR = 8  # the Date of a built message: the issue's day, 08:00 in Denmark
_URL_ATTR = re.compile(r'(\s(?:href|src)=")([^"]*)(")')
_SIZE = re.compile(r'\b(width|height)="(\d+)"')
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
HEADER_LINE = 78  # RFC 5322's recommended line length
_EXACT_HEADERS = ("subject", "list-unsubscribe")
READERS = "Nyhedsbrevets modtagere"  # the To of the built copy: an empty group, no address
_BETWEEN_URLS = re.compile(r"(?<=>)\s*,\s*(?=<)")
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


@dataclass(frozen=True)
class Unsubscribe:
    """How one recipient (or, in the built copy, anybody) unsubscribes."""

    mailto: str  # "mailto:...?subject=..."
    https: str  # "" when no unsubscribe page is configured
    one_click: str = ""  # the List-Unsubscribe URL, where it differs from the link's

    @property
    def link(self) -> str:
        """The link shown in the email: the page when there is one, else the mail."""
        return self.https or self.mailto

    @property
    def header(self) -> str:
        """The List-Unsubscribe header value (RFC 2369)."""
        return ", ".join(f"<{url}>" for url in (self.mailto, self.one_click or self.https) if url)


def unsubscribe_token(secret: bytes, address: str) -> str:
    """HMAC-SHA256 of the lowercased address: the unsubscribe page checks it with the secret."""
    return hmac.new(secret, address.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def subscriber_id(address: str) -> str:
    """The address as it travels in the unsubscribe link: URL-safe base64 without padding.

    Not a secret (the token is what proves the link is ours), but the address itself does not
    stand in the link, where spam filters count it against the message (GB_CUSTOM_HTM_URI).
    """
    return base64.urlsafe_b64encode(address.strip().encode()).decode("ascii").rstrip("=")


def unsubscribe_page(config: Config) -> str:
    """The unsubscribe page: the subscription service's `afmeld` when there is one."""
    if config.subscribers.url:
        return config.subscribers.endpoint("afmeld")
    return config.newsletter.unsubscribe_url


def unsubscribe_for(config: Config, address: str | None, secret: bytes | None) -> Unsubscribe:
    """The unsubscribe links of one recipient; without one, the general links.

    With the subscription service, the List-Unsubscribe URL names the address (`email=`), as
    RFC 8058 clients and people reading it expect; the link in the body carries it as `id=`,
    since spam filters count an address in a body link against the message. The service
    takes both.
    """
    settings = config.newsletter
    mail_to = settings.unsubscribe_mailto or config.contact.email
    mailto = quote(f"mailto:{mail_to}?subject={quote('Afmeld nyhedsbrev')}", safe=_URL_SAFE)
    page = quote(unsubscribe_page(config), safe=_URL_SAFE)
    one_click = ""
    if page and address is not None and secret is not None:
        token = unsubscribe_token(secret, address)
        joiner = "&" if "?" in page else "?"
        if config.subscribers.url:
            one_click = page + joiner + urlencode({"email": address.strip(), "token": token})
        page += joiner + urlencode({"id": subscriber_id(address), "token": token})
    return Unsubscribe(mailto, page, one_click)


def view_url(config: Config, issue: NewsletterIssue) -> str:
    """The issue's web page as an absolute URL: the "view in browser" link."""
    return config.absolute_url(issue.url)


def email_context(
    config: Config, issue: NewsletterIssue, unsubscribe: Unsubscribe
) -> dict[str, Any]:
    return {"issue": issue, "unsubscribe": unsubscribe, "view_url": view_url(config, issue)}


def finish_html(rendered: str, base_url: str) -> str:
    """Email-ready HTML: every URL absolute, every CSS rule that can be inlined inlined."""

    def absolute(match: re.Match[str]) -> str:
        url = html.unescape(match.group(2))
        if not url.startswith(("mailto:", "tel:")):
            url = urljoin(base_url, url)
        return match.group(1) + html.escape(url, quote=True) + match.group(3)

    return _INLINER.inline(_fit_images(_URL_ATTR.sub(absolute, rendered))).rstrip() + "\n"


def _fit_images(document: str) -> str:
    """Scale images wider than the column down, keeping their width/height ratio."""

    def fit(match: re.Match[str]) -> str:
        tag = match.group(0)
        size = {name: int(value) for name, value in _SIZE.findall(tag)}
        width, height = size.get("width", 0), size.get("height", 0)
        if width <= CONTENT_WIDTH or not height:
            return tag
        scaled = max(1, round(height * CONTENT_WIDTH / width))
        tag = re.sub(r'\bwidth="\d+"', f'width="{CONTENT_WIDTH}"', tag)
        return re.sub(r'\bheight="\d+"', f'height="{scaled}"', tag)

    return IMG_TAG.sub(fit, document)


def issue_datetime(issue: NewsletterIssue) -> dt.datetime:
    """The Date of a built message: derived from the issue, never from the build time."""
    try:
        zone: dt.tzinfo = ZoneInfo("Europe/Copenhagen")
    except ZoneInfoNotFoundError:  # pragma: no cover - Debian ships tzdata
        zone = dt.UTC
    return dt.datetime.combine(issue.date, dt.time(SEND_HOUR), tzinfo=zone)


def message_id(config: Config, issue: NewsletterIssue, address: str | None = None) -> str:
    """Stable per issue and recipient: a message sent again keeps its Message-ID."""
    domain = urlsplit(config.site.base_url).hostname or "localhost"
    recipient = ""
    if address is not None:
        recipient = "." + hashlib.sha256(address.strip().lower().encode()).hexdigest()[:16]
    return f"<nyhedsbrev.{issue.date:%Y%m%d}.{issue.slug}{recipient}@{domain}>"


class _ExactPolicy(email.policy.EmailPolicy):
    """The SMTP policy, except that Subject and List-Unsubscribe keep their text exactly.

    The standard folder mixes plain and encoded words in a long Subject and can double or drop
    the space where it switches ("klimatilpasning i  Køge"), decodes a title that looks like an
    encoded word, and turns a long List-Unsubscribe into encoded words no mail program reads as
    URLs. These two are stored as given and folded by `_fold_exactly`.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        stored = super().header_store_parse(name, value)
        if name.lower() in _EXACT_HEADERS and isinstance(value, str):
            return name, value  # as given: parsing would decode what looks like an encoded word
        return stored

    def fold(self, name: str, value: str) -> str:
        exact = _fold_exactly(name, str(value), self.linesep)
        return str(super().fold(name, value)) if exact is None else exact

    def fold_binary(self, name: str, value: str) -> bytes:
        exact = _fold_exactly(name, str(value), self.linesep)
        return super().fold_binary(name, value) if exact is None else exact.encode("ascii")


POLICY = _ExactPolicy(linesep="\r\n")


def _fold_exactly(name: str, value: str, linesep: str) -> str | None:
    """The header line for Subject and List-Unsubscribe; None for the others."""
    if name.lower() == "subject":
        if value.isascii() and "=?" not in value:  # nothing a mail program would decode
            return _folded_at_spaces(name, value, linesep)
        encoded = Header(value, "utf-8", header_name=name).encode(linesep=linesep)
        return f"{name}: {encoded}{linesep}"  # all of it in encoded words, spaces included
    if name.lower() == "list-unsubscribe":  # RFC 2369: <URL>, <URL>; folded between them
        return f"{name}: " + f",{linesep} ".join(_BETWEEN_URLS.split(value)) + linesep
    return None


def _folded_at_spaces(name: str, value: str, linesep: str) -> str:
    """Plain text folded at its spaces: each fold's whitespace is the space it stands for."""
    lines = [f"{name}:"]
    for index, word in enumerate(value.split(" ")):
        if index and word and len(lines[-1]) + 1 + len(word) > HEADER_LINE:
            lines.append("")
        lines[-1] += " " + word
    return linesep.join(lines) + linesep


def compose(
    config: Config,
    issue: NewsletterIssue,
    html_part: str,
    text_part: str,
    unsubscribe: Unsubscribe,
    to: Address | None = None,
    date: dt.datetime | None = None,
) -> EmailMessage:
    """multipart/alternative (text first, then HTML) with the list headers of RFC 2369/8058.

    Without `to` (the built copy) it is addressed to the readers as an empty group.
    """
    settings = config.newsletter
    message = EmailMessage(policy=POLICY)
    message["Subject"] = issue.title
    sender = sender_address(config)
    message["From"] = Address(settings.from_name or config.site.title, addr_spec=sender)
    message["To"] = Group(READERS) if to is None else to
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Date"] = format_datetime(date or issue_datetime(issue))
    message["Message-ID"] = message_id(config, issue, to.addr_spec if to else None)
    domain = urlsplit(config.site.base_url).hostname or "localhost"
    message["List-Id"] = f"{config.site.title} <nyhedsbrev.{domain}>"
    message["List-Unsubscribe"] = unsubscribe.header
    if unsubscribe.https:
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text_part, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html_part, subtype="html", charset="utf-8", cte="quoted-printable")
    digest = hashlib.sha256((text_part + html_part).encode()).hexdigest()[:32]
    message.set_boundary(f"=_cfb_{digest}")
    return message


def sender_address(config: Config) -> str:
    """The From address: newsletter.from_address, else the contact address."""
    return config.newsletter.from_address or config.contact.email


@dataclass(frozen=True)
class EmailParts:
    html: str
    text: str


def email_parts(rendered: str, config: Config, issue: NewsletterIssue) -> EmailParts:
    """Rendered email template -> the HTML and text parts of the email."""
    return _finished(rendered, view_url(config, issue))


@functools.lru_cache(maxsize=16)
def _finished(rendered: str, view: str) -> EmailParts:
    """Inlined HTML and its text version, made once for the three files of an issue."""
    ready = finish_html(rendered, view)
    return EmailParts(ready, html_to_text(ready))


def email_file_finishers(
    config: Config, issue: NewsletterIssue
) -> dict[str, Callable[[str], bytes]]:
    """How the rendered template becomes each built file: email.html, email.txt, message.eml."""

    def as_html(rendered: str) -> bytes:
        return email_parts(rendered, config, issue).html.encode()

    def as_text(rendered: str) -> bytes:
        return email_parts(rendered, config, issue).text.encode()

    def as_message(rendered: str) -> bytes:
        parts = email_parts(rendered, config, issue)
        general = unsubscribe_for(config, None, None)
        return compose(config, issue, parts.html, parts.text, general).as_bytes()

    return {"email.html": as_html, "email.txt": as_text, "message.eml": as_message}
