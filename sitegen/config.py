"""sitegen.toml: every key with a documented default, validated like content; build options.

Importing it stays cheap (the CLI and a no-change rebuild need it): standard library only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sitegen.clock import build_date
from sitegen.errors import ErrorList, did_you_mean

CONFIG_FILE = "sitegen.toml"
SOURCE_FOLDERS = ("content", "templates", "static")  # what a build reads, with CONFIG_FILE
DEFAULT_TEMPLATES = "templates"


def bundled_theme() -> Path:
    """The theme shipped with sitegen (in a source checkout: the repository's templates/)."""
    return Path(__file__).resolve().parent / "theme"


def _doc(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class SiteSection:
    title: str = _doc("Center for Borgerdialog", "Site name, shown in the header and titles.")
    description: str = _doc(
        "Nyt om erfaringer, cases, metoder og udgivelser om borgerdialog.",
        "One-line description of the site, used on the home page and in feeds.",
    )
    base_url: str = _doc(
        "http://localhost:8000/",
        "Absolute URL the site is published at; may include a sub-path.",
    )
    language: str = _doc("da", "Language of the pages (the `lang` attribute and dates).")
    intro: str = _doc(
        "Center for Borgerdialog samler viden og erfaringer om borgerdialog, "
        "borgerinddragelse og samskabelse i danske kommuner.",
        "Intro paragraph on the home page.",
    )
    home_cases: int = _doc(6, "How many of the latest cases the home page lists.")


@dataclass(frozen=True)
class PathsSection:
    content: str = _doc("content", "Folder of the Markdown content, relative to the site root.")
    templates: str = _doc(
        DEFAULT_TEMPLATES,
        "Folder of the Jinja2 templates and theme assets; without one, the bundled theme.",
    )
    static: str = _doc("static", "Folder copied as-is into the output (images, files).")
    output: str = _doc("output", "Folder the built site is written to.")


@dataclass(frozen=True)
class UrlsSection:
    case: str = _doc("/cases/{slug}/", "URL of a case page.")
    cases: str = _doc("/cases/", "URL of the case list (further pages add side/N/).")
    page: str = _doc("/{slug}/", "URL of a page from content/pages/.")
    tag: str = _doc("/emner/{slug}/", "URL of a topic (tag) page.")
    tags: str = _doc("/emner/", "URL of the index of topics.")
    municipality: str = _doc("/kommuner/{slug}/", "URL of a municipality page.")
    municipalities: str = _doc("/kommuner/", "URL of the index of municipalities.")
    level: str = _doc("/niveauer/{slug}/", "URL of a co-creation level page.")
    levels: str = _doc("/niveauer/", "URL of the index of levels.")
    newsletter_issue: str = _doc("/nyhedsbrev/{slug}/", "URL of a newsletter issue.")
    newsletter: str = _doc("/nyhedsbrev/", "URL of the newsletter archive.")


@dataclass(frozen=True)
class PaginationSection:
    per_page: int = _doc(10, "Cases per page in the paginated case list.")


@dataclass(frozen=True)
class ContactSection:
    name: str = _doc("Center for Borgerdialog", "Name in the address block.")
    phone: str = _doc("24 47 78 18", "Phone number in the address block.")
    email: str = _doc("info@borgerdialog.dk", "Mail address in the address block.")


@dataclass(frozen=True)
class SearchSection:
    enabled: bool = _doc(
        True, "Build the Pagefind search index, the search page and the header search box."
    )


@dataclass(frozen=True)
class MarkdownSection:
    safe_html: bool = _doc(False, "Sanitize raw HTML in Markdown bodies (for untrusted editors).")


@dataclass(frozen=True)
class NewsletterSection:
    signup_url: str = _doc("", "URL the signup form posts to; empty offers a mail link instead.")
    from_address: str = _doc("", "Sender address of the newsletter; empty uses `contact.email`.")
    from_name: str = _doc("", "Sender name of the newsletter; empty uses `site.title`.")
    reply_to: str = _doc("", "Reply-To address of the newsletter; empty leaves it out.")
    unsubscribe_url: str = _doc(
        "",
        "https page that unsubscribes; each recipient's link adds `?id=...&token=...` "
        "(RFC 8058 one-click). Empty: mail unsubscribe only.",
    )
    unsubscribe_mailto: str = _doc(
        "", "Address that takes unsubscribe mails; empty uses `contact.email`."
    )
    unsubscribe_secret_env: str = _doc(
        "SITEGEN_UNSUBSCRIBE_SECRET",
        "Environment variable with the secret that signs the unsubscribe tokens (HMAC-SHA256).",
    )
    smtp_host: str = _doc("", "SMTP server the newsletter is sent through (`--smtp-host`).")
    smtp_port: int = _doc(587, "Port of the SMTP server (`--smtp-port`).")
    smtp_starttls: bool = _doc(True, "Switch the SMTP connection to TLS with STARTTLS.")
    smtp_user: str = _doc("", "SMTP login name; empty sends without logging in.")
    smtp_password_env: str = _doc(
        "SITEGEN_SMTP_PASSWORD",
        "Environment variable with the SMTP password (never put the password in this file).",
    )
    send_log_dir: str = _doc(
        "", "Folder for send logs; empty keeps each log next to its recipients file."
    )
    rate: int = _doc(10, "Messages sent per second at most (`--rate`); 0 for no limit.")
    dkim_selector: str = _doc(
        "", "DKIM selector (`<selector>._domainkey.<domain>`); empty: messages are not signed."
    )
    dkim_domain: str = _doc("", "Domain the DKIM signature is made for (`d=`), e.g. the From's.")
    dkim_key_env: str = _doc(
        "SITEGEN_DKIM_PRIVATE_KEY",
        "Environment variable with the DKIM private key (PEM), read only when signing.",
    )


@dataclass(frozen=True)
class SubscribersSection:
    url: str = _doc(
        "",
        "Public base URL of `sitegen subscribers serve`, e.g. "
        "`https://nyhedsbrev.borgerdialog.dk/`: the signup form posts to its `tilmeld`, "
        "unsubscribe links go to its `afmeld`. "
        "Empty: no subscription service.",
    )
    database: str = _doc(
        "subscribers.db",
        "SQLite file of the subscribers, relative to the site root or absolute (`--db`).",
    )
    consent_text: str = _doc(
        "Vi bruger kun din adresse til at sende nyhedsbrevet. "
        "Du kan altid afmelde dig med linket i hvert nyhedsbrev.",
        "The consent text shown under the signup form; each signup records it and its version.",
    )
    confirm_hours: int = _doc(
        48, "Hours a confirmation link is valid; unconfirmed signups are deleted after it."
    )
    signups_per_hour: int = _doc(
        20, "Signups the service takes per IP address and hour; 0 for no limit."
    )

    def endpoint(self, name: str) -> str:
        """The absolute URL of one of the service's pages: endpoint('tilmeld')."""
        return self.url + ("" if self.url.endswith("/") else "/") + name


@dataclass(frozen=True)
class DeploySection:
    target: str = _doc(
        "",
        "Where `sitegen deploy` publishes: a local folder or `user@host:/path` (rsync over SSH).",
    )
    keep: int = _doc(5, "How many releases a deploy keeps on the server (`--keep`).")
    ssh: str = _doc(
        "ssh", "The SSH command with its options, e.g. `ssh -p 2222 -i ~/.ssh/cfb_deploy`."
    )
    bandwidth_limit: int = _doc(
        0, "KiB per second an upload may use at most (rsync `--bwlimit`); 0 for no limit."
    )
    reload_command: str = _doc(
        "",
        "Shell command run where the target is after `current` switched, e.g. "
        "`sudo systemctl reload nginx` (so the server reads the new redirect map).",
    )


@dataclass(frozen=True)
class Config:
    """The whole validated configuration of a site."""

    root: Path
    site: SiteSection = field(default_factory=SiteSection)
    paths: PathsSection = field(default_factory=PathsSection)
    urls: UrlsSection = field(default_factory=UrlsSection)
    pagination: PaginationSection = field(default_factory=PaginationSection)
    contact: ContactSection = field(default_factory=ContactSection)
    markdown: MarkdownSection = field(default_factory=MarkdownSection)
    search: SearchSection = field(default_factory=SearchSection)
    newsletter: NewsletterSection = field(default_factory=NewsletterSection)
    deploy: DeploySection = field(default_factory=DeploySection)
    subscribers: SubscribersSection = field(default_factory=SubscribersSection)

    @property
    def base_path(self) -> str:
        """The path part of base_url, always starting and ending with '/'."""
        return _base_path(self.site.base_url)

    @property
    def origin(self) -> str:
        """scheme://host of base_url, for turning site paths into absolute URLs."""
        parts = urlsplit(self.site.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def href(self, path: str) -> str:
        """A site path ('/cases/x/') as the href pages use, under the base path.

        Outside URLs, mail and phone links and fragments are returned as they are.
        """
        if "://" in path or path.startswith(("mailto:", "tel:", "#")):
            return path
        return self.base_path + path.lstrip("/")

    def absolute_url(self, path: str) -> str:
        """A site path or an href ('/cases/x/' or '/cfb/cases/x/') as an absolute URL."""
        if "://" in path or path.startswith(("mailto:", "tel:")):
            return path
        href = path if path.startswith(self.base_path) else self.href(path)
        return self.origin + href

    def path(self, name: str) -> Path:
        """A folder of the site; a site without its own templates/ uses the bundled theme."""
        folder = self.root / str(getattr(self.paths, name))
        if (
            name == "templates"
            and self.paths.templates == DEFAULT_TEMPLATES
            and not folder.exists()
        ):
            return bundled_theme()
        return folder


SECTIONS: dict[str, type[Any]] = {
    f.name: f.default_factory  # type: ignore[misc]
    for f in dataclasses.fields(Config)
    if f.name != "root"
}

_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """Line of every `key =` in the file, per table ("" for keys before any table)."""
    lines: dict[tuple[str, str], int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _TABLE.match(line):
            table = match.group(1)
            lines.setdefault((table, ""), number)
        elif match := _KEY.match(line):
            lines.setdefault((table, match.group(1)), number)
    return lines


def _type_name(value: Any) -> str:
    return {bool: "true or false", int: "a whole number", str: "a string"}.get(
        type(value), type(value).__name__
    )


def load_config(root: Path, errors: ErrorList) -> Config:
    """Read `root/sitegen.toml` (or use the defaults when there is none)."""
    file = root / CONFIG_FILE
    if not file.exists():
        return Config(root=root)
    try:
        text = file.read_bytes().decode("utf-8-sig")
        raw = tomllib.loads(text)
    except UnicodeDecodeError:
        errors.add(CONFIG_FILE, 1, "", "file is not valid UTF-8")
        return Config(root=root)
    except OSError as exc:
        errors.add(CONFIG_FILE, 0, "", f"cannot be read: {exc.strerror or exc}")
        return Config(root=root)
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d+)", str(exc))) else 1
        errors.add(CONFIG_FILE, line, "", f"invalid TOML: {exc}")
        return Config(root=root)
    lines = _key_lines(text)
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in SECTIONS:
            errors.add(
                CONFIG_FILE,
                lines.get((name, ""), 1),
                name,
                f"unknown section{did_you_mean(name, list(SECTIONS))}",
            )
            continue
        if not isinstance(value, dict):
            errors.add(CONFIG_FILE, lines.get(("", name), 1), name, "must be a table")
            continue
        sections[name] = _section(name, value, lines, errors)
    config = Config(root=root, **sections)
    return _check_values(config, lines, errors)


def _section(
    name: str, values: dict[str, Any], lines: dict[tuple[str, str], int], errors: ErrorList
) -> Any:
    cls = SECTIONS[name]
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    accepted: dict[str, Any] = {}
    for key, value in values.items():
        line = lines.get((name, key), lines.get((name, ""), 1))
        if key not in defaults:
            errors.add(
                CONFIG_FILE,
                line,
                f"{name}.{key}",
                f"unknown key{did_you_mean(key, list(defaults))}",
            )
        elif type(value) is not type(defaults[key]):
            errors.add(
                CONFIG_FILE,
                line,
                f"{name}.{key}",
                f"must be {_type_name(defaults[key])}, not {value!r}",
            )
        else:
            accepted[key] = value
    return cls(**accepted)


def _check_values(config: Config, lines: dict[tuple[str, str], int], errors: ErrorList) -> Config:
    """Report values of the right type that still cannot be used; defaults replace them."""

    def line(section: str, key: str) -> int:
        return lines.get((section, key), 1)

    url = urlsplit(config.site.base_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        errors.add(
            CONFIG_FILE,
            line("site", "base_url"),
            "site.base_url",
            "must be an absolute http(s) URL",
        )
    if config.pagination.per_page < 1:
        errors.add(
            CONFIG_FILE, line("pagination", "per_page"), "pagination.per_page", "must be at least 1"
        )
    _check_newsletter(config.newsletter, line, errors)
    _check_subscribers(config.subscribers, line, errors)
    if config.deploy.keep < 1:
        errors.add(CONFIG_FILE, line("deploy", "keep"), "deploy.keep", "must be at least 1")
    if config.deploy.bandwidth_limit < 0:
        errors.add(
            CONFIG_FILE,
            line("deploy", "bandwidth_limit"),
            "deploy.bandwidth_limit",
            "must be 0 or more",
        )
    bad_urls: dict[str, str] = {}
    for f in dataclasses.fields(UrlsSection):
        pattern: str = getattr(config.urls, f.name)
        problem = url_pattern_problem(pattern, needs_slug="{slug}" in str(f.default))
        if problem:
            errors.add(CONFIG_FILE, line("urls", f.name), f"urls.{f.name}", problem)
            bad_urls[f.name] = str(f.default)
    output = Path(config.paths.output).parts
    for f in dataclasses.fields(PathsSection):
        value = getattr(config.paths, f.name)
        parts = Path(value).parts
        if f.name != "output" and parts and output and parts[: len(output)] == output[: len(parts)]:
            errors.add(
                CONFIG_FILE,
                line("paths", "output"),
                "paths.output",
                f"must not overlap paths.{f.name} ({value!r}): each build replaces it whole",
            )
        if not parts or Path(value).is_absolute() or ".." in parts:
            errors.add(
                CONFIG_FILE,
                line("paths", f.name),
                f"paths.{f.name}",
                "must be a folder inside the site, without '..'",
            )
            config = dataclasses.replace(
                config, paths=dataclasses.replace(config.paths, **{f.name: str(f.default)})
            )
    return dataclasses.replace(config, urls=dataclasses.replace(config.urls, **bad_urls))


def _check_newsletter(
    settings: NewsletterSection, line: Callable[[str, str], int], errors: ErrorList
) -> None:
    """Sending settings that are of the right type but cannot work."""
    unsubscribe = urlsplit(settings.unsubscribe_url)
    if settings.unsubscribe_url and (unsubscribe.scheme != "https" or not unsubscribe.netloc):
        errors.add(
            CONFIG_FILE,
            line("newsletter", "unsubscribe_url"),
            "newsletter.unsubscribe_url",
            "must be an https URL (one-click unsubscribe, RFC 8058)",
        )
    if not 0 < settings.smtp_port < 65536:
        errors.add(
            CONFIG_FILE, line("newsletter", "smtp_port"), "newsletter.smtp_port", "must be 1-65535"
        )
    if settings.rate < 0:
        errors.add(CONFIG_FILE, line("newsletter", "rate"), "newsletter.rate", "must be 0 or more")


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _check_subscribers(
    settings: SubscribersSection, line: Callable[[str, str], int], errors: ErrorList
) -> None:
    """The service's URL must be https (RFC 8058), except on this machine for testing."""
    url = urlsplit(settings.url)
    if settings.url and not (
        url.netloc
        and (url.scheme == "https" or (url.scheme == "http" and url.hostname in LOOPBACK_HOSTS))
        and not url.query
        and not url.fragment
    ):
        errors.add(
            CONFIG_FILE,
            line("subscribers", "url"),
            "subscribers.url",
            "must be an https URL without ?query or #fragment (http only for 127.0.0.1)",
        )
    if not settings.database:
        errors.add(
            CONFIG_FILE,
            line("subscribers", "database"),
            "subscribers.database",
            "must not be empty",
        )
    if settings.confirm_hours < 1:
        errors.add(
            CONFIG_FILE,
            line("subscribers", "confirm_hours"),
            "subscribers.confirm_hours",
            "must be at least 1",
        )
    if settings.signups_per_hour < 0:
        errors.add(
            CONFIG_FILE,
            line("subscribers", "signups_per_hour"),
            "subscribers.signups_per_hour",
            "must be 0 or more",
        )


def url_pattern_problem(pattern: str, needs_slug: bool) -> str:
    """Why a URL pattern could not be used (empty string when it is fine)."""
    if not (pattern.startswith("/") and pattern.endswith("/")):
        return "must start and end with '/'"
    if needs_slug and "{slug}" not in pattern:
        return "must contain {slug}"
    decoded = pattern.lower().replace("%2e", ".").replace("%2f", "/").replace("\\", "/")
    if any(part in ("..", ".") for part in decoded.split("/")) or "//" in decoded:
        return "must not contain '.', '..' or '//' segments"
    if set(pattern.replace("{slug}", "")) - set("abcdefghijklmnopqrstuvwxyz0123456789-_/"):
        return "may only use a-z, 0-9, '-', '_', '/' and {slug}"
    return ""


@dataclass(frozen=True)
class BuildOptions:
    drafts: bool = False
    future: bool = False
    today: dt.date = dt.date(1970, 1, 1)


def default_options(drafts: bool = False, future: bool = False) -> BuildOptions:
    return BuildOptions(drafts=drafts, future=future, today=build_date())


@functools.lru_cache(maxsize=16)  # every href a page makes asks for it
def _base_path(base_url: str) -> str:
    path = urlsplit(base_url).path or "/"
    return path if path.endswith("/") else path + "/"
