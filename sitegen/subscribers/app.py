"""The subscription service: signup with double opt-in, confirmation, one-click unsubscribe.

    POST /tilmeld           store an unconfirmed signup, mail a signed link to /bekraeft
    GET  /bekraeft?token=   a page with one button; only its POST confirms
    GET  /afmeld?email=|id=&token=   a page with one button; a POST to the same URL
                            unsubscribes (the button, or RFC 8058 one-click)

A GET never changes anything, so mail scanners that follow links confirm and unsubscribe
nobody. Bad input gets a Danish page with a 4xx status and stores nothing; a database that
cannot be written gets 503.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route

from sitegen.config import Config
from sitegen.subscribers.mail import MailFailed, confirmation_link, confirmation_message
from sitegen.subscribers.pages import Page, Pages
from sitegen.subscribers.recipients import address_problem
from sitegen.subscribers.store import UNSUBSCRIBED, Store, StoreUnavailable
from sitegen.subscribers.tokens import (
    BadToken,
    confirmation_token,
    decode_id,
    form_stamp,
    new_nonce,
    read_confirmation,
    stamp_age,
    suppression_key,
    unsubscribe_ok,
)

MAX_BODY = 4096  # bytes: a signup form is a few hundred
MAX_NAME = 200
MAX_PAGE = 500
RESEND_AFTER = 300.0  # seconds before the same address gets another confirmation mail
MIN_FORM_SECONDS = 1.0  # a form of the service posted faster than this is not a person's
Mailer = Callable[[EmailMessage], None]


@dataclass
class RateLimit:
    """At most `per_hour` requests per client address in any hour (0: no limit); memory only."""

    per_hour: int
    seen: dict[str, deque[float]] = field(default_factory=dict)

    def allow(self, client: str, now: float) -> bool:
        if self.per_hour <= 0:
            return True
        times = self.seen.setdefault(client, deque())
        while times and times[0] <= now - 3600:
            times.popleft()
        if len(times) >= self.per_hour:
            return False
        times.append(now)
        if len(self.seen) > 10_000:  # forget clients quiet for an hour rather than grow
            for quiet in [key for key, value in self.seen.items() if value[-1] <= now - 3600]:
                del self.seen[quiet]
        return True


@dataclass
class Service:
    """What the endpoints work with: the site's settings, the database, the mail, the pages."""

    config: Config
    store: Store
    secret: bytes
    mailer: Mailer
    pages: Pages
    limit: RateLimit
    clock: Callable[[], float] = time.time
    min_form_seconds: float = MIN_FORM_SECONDS
    purged_at: float = 0.0  # when expired signups were last deleted

    @property
    def consent(self) -> tuple[str, str]:
        """The consent text the signup form shows, and its version (a digest of it)."""
        text = self.config.subscribers.consent_text
        return text, hashlib.sha256(text.encode()).hexdigest()[:12]


class BadRequest(Exception):
    """Input the service cannot take: answered with `page` (a 4xx), nothing stored."""

    def __init__(self, page: Page) -> None:
        super().__init__(page.heading)
        self.page = page


def coarse_ip(host: str) -> str:
    """The network a client is in (IPv4 /24, IPv6 /48): enough to see a flood, no person."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded body of at most MAX_BODY bytes (first value of each)."""
    length = request.headers.get("content-length", "")
    if length and (not length.isdigit() or int(length) > MAX_BODY):
        raise BadRequest(TOO_LARGE)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(TOO_LARGE)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return {}  # a one-click POST may come as multipart/form-data; no field is needed there
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(BAD_FORM) from None
    return {name: values[0] for name, values in fields.items()}


TOO_LARGE = Page(413, "For mange data", ("Formularen sendte mere, end tjenesten tager imod.",))
BAD_FORM = Page(400, "Formularen kunne ikke læses", ("Prøv at udfylde formularen igen.",))
UNAVAILABLE = Page(
    503,
    "Tjenesten er midlertidigt utilgængelig",
    ("Vi kan ikke gemme noget lige nu. Prøv igen om lidt.", "Der er ikke ændret noget."),
)
BAD_LINK = "Linket virker ikke"


def _clean_name(value: str) -> str:
    return " ".join("".join(ch for ch in value if ch.isprintable()).split())


def _page_of(config: Config, value: str) -> str:
    """The signup form's page, when it is one of the site's (or the service's) own."""
    value = value.strip()
    if len(value) > MAX_PAGE:
        return ""
    for own in (config.site.base_url, config.subscribers.url):
        if own and value.startswith(own.rstrip("/")):
            return value
    return ""


async def signup(request: Request, service: Service) -> Page:
    form = await read_form(request)
    now = service.clock()
    client = request.client.host if request.client else ""
    if not service.limit.allow(coarse_ip(client), now):  # one limit per /24 or /48
        return Page(
            429,
            "For mange tilmeldinger",
            ("Der er kommet mange tilmeldinger herfra på kort tid. Prøv igen om en time.",),
        )
    address = form.get("email", "").strip()
    problem = address_problem(address) if address else "mangler"
    if not address or problem:
        reason = (
            "Skriv din e-mailadresse i feltet."
            if not address
            else f"»{address[:254]}« er ikke en e-mailadresse, vi kan sende til."
        )
        raise BadRequest(
            Page(
                400,
                "Tilmeldingen kunne ikke gennemføres",
                (reason, "Prøv igen med formularen nederst på siden."),
                stamp=form_stamp(service.secret, now),
            )
        )
    name = _clean_name(form.get("navn", ""))
    if len(name) > MAX_NAME:
        raise BadRequest(
            Page(400, "Tilmeldingen kunne ikke gennemføres", ("Navnet er for langt.",))
        )
    thanks = Page(
        200,
        "Tak - tjek din indbakke",
        (
            f"Hvis adressen kan tilmeldes, får du om lidt en mail med et link. Åbn det og tryk på "
            f"knappen for at bekræfte tilmeldingen. Linket virker i "
            f"{service.config.subscribers.confirm_hours} timer.",
            "Kommer der ingen mail, så se efter i mappen med uønsket post.",
        ),
    )
    if form.get("website", ""):
        return thanks  # the honeypot: only a robot fills the field people cannot see
    stamp = form.get("t", "")
    if stamp:  # the form came from one of the service's pages: the time trap applies
        try:
            fast = stamp_age(service.secret, stamp, now) < service.min_form_seconds
        except BadToken:
            return thanks  # a made-up stamp: a robot
        if fast:
            return thanks
    hours = service.config.subscribers.confirm_hours
    if now - service.purged_at > 3600:  # signups never confirmed go when their link expires
        service.purged_at = now
        await run_in_threadpool(service.store.purge_expired, now - hours * 3600)
    signup_page = _page_of(service.config, form.get("side", ""))
    ip_prefix = coarse_ip(client)
    nonce = new_nonce()
    outcome = await run_in_threadpool(
        service.store.signup,
        address,
        name,
        signup_page,
        service.consent,
        ip_prefix,
        now,
        nonce,
        RESEND_AFTER,
    )
    if outcome.send:
        expires = int(now + service.config.subscribers.confirm_hours * 3600)
        token = confirmation_token(service.secret, address, outcome.nonce, expires)
        link = confirmation_link(service.config, token)
        message = confirmation_message(
            service.config,
            address,
            name,
            link,
            service.config.subscribers.confirm_hours,
            dt.datetime.fromtimestamp(now, dt.UTC),
        )
        try:
            await run_in_threadpool(service.mailer, message)
        except MailFailed:
            await run_in_threadpool(service.store.mail_failed, address)
            return Page(
                503,
                "Mailen kunne ikke sendes",
                ("Vi kunne ikke sende mailen med bekræftelseslinket. Prøv igen om lidt.",),
            )
    return thanks


def _confirmation(service: Service, token: str) -> tuple[str, str]:
    try:
        found = read_confirmation(service.secret, token, service.clock())
    except BadToken as exc:
        text = (
            "Linket er udløbet. Tilmeld dig igen med formularen nederst på siden."
            if "expired" in str(exc)
            else "Linket er ikke gyldigt. Kopiér det helt fra mailen, eller tilmeld dig igen."
        )
        raise BadRequest(Page(400, BAD_LINK, (text,))) from None
    return found.address, found.nonce


def _used(heading: str = BAD_LINK) -> BadRequest:
    return BadRequest(
        Page(
            410,
            heading,
            (
                "Linket er allerede brugt, eller tilmeldingen er udløbet. Er du tilmeldt, får du "
                "nyhedsbrevet; ellers kan du tilmelde dig igen med formularen nederst på siden.",
            ),
        )
    )


async def confirm_page(request: Request, service: Service) -> Page:
    token = request.query_params.get("token", "")
    address, nonce = _confirmation(service, token)
    if not await run_in_threadpool(service.store.is_open, address, nonce):
        raise _used()
    return Page(
        200,
        "Bekræft din tilmelding",
        (f"Tryk på knappen for at få nyhedsbrevet fra {service.config.site.title} på {address}.",),
        button="Bekræft tilmelding",
        action=service.config.subscribers.endpoint("bekraeft"),
        hidden=(("token", token), ("t", form_stamp(service.secret, service.clock()))),
    )


async def confirm(request: Request, service: Service) -> Page:
    form = await read_form(request)
    address, nonce = _confirmation(service, form.get("token", ""))
    try:
        age = stamp_age(service.secret, form.get("t", ""), service.clock())
    except BadToken:
        age = -1.0
    if age < service.min_form_seconds:  # no page shown first, or a robot's speed
        raise BadRequest(
            Page(
                400,
                "Tryk på knappen for at bekræfte",
                ("Åbn linket fra mailen igen, og tryk på knappen »Bekræft tilmelding«.",),
            )
        )
    key = suppression_key(service.secret, address)
    if not await run_in_threadpool(service.store.confirm, address, nonce, key, service.clock()):
        raise _used()
    return Page(
        200,
        "Du er nu tilmeldt",
        (
            f"Tak! {address} får fremover nyhedsbrevet fra {service.config.site.title}.",
            "Du kan altid afmelde dig med linket nederst i hvert nyhedsbrev.",
        ),
    )


def _unsubscriber(request: Request, service: Service) -> str:
    """The address an unsubscribe URL names, when its token is ours; else a 4xx."""
    query = request.query_params
    token = query.get("token", "")
    address = query.get("email", "").strip()
    if not address and query.get("id"):
        try:
            address = decode_id(query.get("id", "")).strip()
        except BadToken:
            address = ""
    if not address or not token or address_problem(address):
        raise BadRequest(
            Page(400, BAD_LINK, ("Linket mangler en del. Brug linket nederst i nyhedsbrevet.",))
        )
    if not unsubscribe_ok(service.secret, address, token):
        raise BadRequest(
            Page(
                403,
                BAD_LINK,
                (
                    "Linket er ikke gyldigt. Brug linket nederst i nyhedsbrevet, eller skriv til "
                    f"{service.config.contact.email}.",
                ),
            )
        )
    return address


async def unsubscribe_page(request: Request, service: Service) -> Page:
    address = _unsubscriber(request, service)
    query = urlencode(list(request.query_params.multi_items()))
    site = service.config.site.title
    return Page(
        200,
        "Afmeld nyhedsbrevet",
        (f"Tryk på knappen for at afmelde {address} nyhedsbrevet fra {site}.",),
        button="Afmeld",
        action=service.config.subscribers.endpoint("afmeld") + "?" + query,
    )


async def unsubscribe(request: Request, service: Service) -> Page:
    """The button's POST and RFC 8058's one-click POST alike: no cookie, no field needed."""
    address = _unsubscriber(request, service)
    await read_form(request)  # a body over the limit is refused
    key = suppression_key(service.secret, address)
    await run_in_threadpool(service.store.forget, address, key, UNSUBSCRIBED, service.clock())
    return Page(
        200,
        "Du er afmeldt",
        (
            f"{address} får ikke flere nyhedsbreve fra {service.config.site.title}.",
            "Fortryder du, kan du tilmelde dig igen med formularen nederst på siden.",
        ),
    )


ERROR_PAGES = {
    404: Page(404, "Siden findes ikke", ("Tjenesten har ingen side på denne adresse.",)),
    405: Page(
        405,
        "Siden kan ikke bruges sådan",
        ("Brug formularen eller linket fra mailen i stedet.",),
    ),
}


def create_app(service: Service) -> Starlette:
    """The ASGI application; every answer carries the site's CSP and asks for no caching."""
    pages = service.pages

    def respond(page: Page, request: Request, headers: dict[str, str] | None = None) -> Response:
        current = service.config.subscribers.endpoint(request.url.path[len(pages.base_path) :])
        response = HTMLResponse(pages.render(page, current), page.status, headers=headers)
        _secure(response, pages.policy)
        return response

    def endpoint(handler: Callable[[Request, Service], object]) -> Callable[..., object]:
        async def run(request: Request) -> Response:
            try:
                page = await handler(request, service)  # type: ignore[misc]
            except BadRequest as bad:
                page = bad.page
            except StoreUnavailable:
                page = UNAVAILABLE
            return respond(page, request)

        return run

    async def asset(request: Request) -> Response:
        found = pages.assets.get("static/" + request.path_params["name"])
        if found is None:
            raise HTTPException(404)
        response = Response(found.data, media_type=found.media_type)
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if found.hashed else "no-cache"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        page = ERROR_PAGES.get(status, Page(status, "Der skete en fejl"))
        headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else None
        return respond(page, request, headers)

    routes = [
        Route("/tilmeld", endpoint(signup), methods=["POST"]),
        Route("/bekraeft", endpoint(confirm_page), methods=["GET"]),
        Route("/bekraeft", endpoint(confirm), methods=["POST"]),
        Route("/afmeld", endpoint(unsubscribe_page), methods=["GET"]),
        Route("/afmeld", endpoint(unsubscribe), methods=["POST"]),
        Route("/static/{name:path}", asset, methods=["GET"]),
    ]
    base = pages.base_path.rstrip("/")
    return Starlette(
        routes=[Mount(base, routes=routes)] if base else routes,
        exception_handlers={404: http_error, 405: http_error},
    )


def _secure(response: Response, policy: str) -> None:
    headers = response.headers
    headers["Content-Security-Policy"] = policy
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"  # the URLs carry tokens
    headers["Cache-Control"] = "no-store"
