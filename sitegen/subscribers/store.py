"""The subscribers in SQLite: signups, confirmations, consent records and the suppression list.

One file (WAL mode, fsynced commits), its schema versioned in `PRAGMA user_version` and migrated
when opened. Every change is one transaction: a write either happens whole or not at all. A
database that is locked for too long or cannot be written raises StoreUnavailable.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sitegen.config import Config

PENDING, CONFIRMED = "pending", "confirmed"
SIGNUP, IMPORT = "signup", "import"
UNSUBSCRIBED, REMOVED = "unsubscribed", "removed"

# Each entry brings the schema from version N to N + 1; never change one that has shipped.
MIGRATIONS = (
    """
    CREATE TABLE subscribers (
        address TEXT PRIMARY KEY,              -- lowercased
        name TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed')),
        source TEXT NOT NULL CHECK (source IN ('signup', 'import')),
        signed_up_at TEXT NOT NULL,            -- UTC, ISO 8601: when consent was given
        page TEXT NOT NULL DEFAULT '',         -- the page the signup form was on
        consent_text TEXT NOT NULL,            -- the text shown with the form
        consent_version TEXT NOT NULL,
        ip_prefix TEXT,                        -- /24 or /48, only until confirmed
        confirmed_at TEXT,
        nonce TEXT,                            -- of the open confirmation link
        mailed_at TEXT                         -- last confirmation mail
    );
    CREATE TABLE suppressed (
        key TEXT PRIMARY KEY,                  -- keyed hash of the address, never the address
        reason TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'removed')),
        at TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
T = TypeVar("T")


class StoreUnavailable(Exception):
    """The database cannot be used right now (locked, read-only, damaged); nothing was changed."""


class StoreTooNew(Exception):
    """The database was made by a newer sitegen."""


def database_path(config: Config, override: str | None = None) -> Path:
    """The database file: --db, else `subscribers.database`, relative to the site root."""
    path = Path(override or config.subscribers.database)
    return path if path.is_absolute() else config.root / path


def timestamp(now: float) -> str:
    """UTC, to the second: '2026-11-30T08:00:00+00:00'."""
    return dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Signup:
    """The outcome of a signup: whether to mail a confirmation link, and its nonce."""

    send: bool
    nonce: str


@dataclass(frozen=True)
class Subscriber:
    address: str
    name: str


class Store:
    """The database of one site; safe to share between threads (calls take turns)."""

    def __init__(self, path: Path, busy_timeout: float = 5.0, read_only: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            if read_only:
                uri = f"{Path(path).absolute().as_uri()}?mode=ro"
                self._db = sqlite3.connect(
                    uri, uri=True, timeout=busy_timeout, check_same_thread=False
                )
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(str(path), timeout=busy_timeout, check_same_thread=False)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"{path}: cannot be opened: {exc}") from exc
        self._db.isolation_level = None  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
        self._db.row_factory = sqlite3.Row
        if not read_only:
            self._call(self._prepare)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _prepare(self) -> None:
        db = self._db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a COMMIT is on disk before the answer goes out
        db.execute("PRAGMA secure_delete=ON")  # deleted records are overwritten in the file
        with self._transaction():
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreTooNew(
                    f"{self.path}: made by a newer sitegen (schema {version}, this one knows "
                    f"{SCHEMA_VERSION}); upgrade sitegen"
                )
            for script in MIGRATIONS[version:]:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _call(self, action: Callable[[], T]) -> T:
        with self._lock:
            try:
                return action()
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise StoreUnavailable(f"{self.path}: {exc}") from exc

    # --- signups and confirmations ------------------------------------------------------

    def signup(
        self,
        address: str,
        name: str,
        page: str,
        consent: tuple[str, str],
        ip_prefix: str,
        now: float,
        nonce: str,
        resend_after: float,
    ) -> Signup:
        """Record a signup (once per address); say whether a confirmation mail is due.

        A confirmed address gets no mail; an open signup gets one again after `resend_after`
        seconds, with its first link's nonce.
        """
        key = address.lower()
        text, version = consent

        def run() -> Signup:
            with self._transaction() as db:
                row = db.execute(
                    "SELECT status, nonce, mailed_at FROM subscribers WHERE address = ?", (key,)
                ).fetchone()
                if row is None:
                    db.execute(
                        "INSERT INTO subscribers (address, name, status, source, signed_up_at, "
                        "page, consent_text, consent_version, ip_prefix, nonce, mailed_at) "
                        "VALUES (?, ?, 'pending', 'signup', ?, ?, ?, ?, ?, ?, ?)",
                        (key, name, timestamp(now), page, text, version, ip_prefix, nonce,
                         timestamp(now)),
                    )  # fmt: skip
                    return Signup(True, nonce)
                if row["status"] == CONFIRMED:
                    return Signup(False, "")
                mailed = row["mailed_at"]
                if mailed and mailed > timestamp(now - resend_after):
                    return Signup(False, "")
                db.execute(
                    "UPDATE subscribers SET mailed_at = ? WHERE address = ?", (timestamp(now), key)
                )
                return Signup(True, str(row["nonce"]))

        return self._call(run)

    def mail_failed(self, address: str) -> None:
        """The confirmation mail did not go out: the next signup may send it at once."""

        def run() -> None:
            with self._transaction() as db:
                db.execute(
                    "UPDATE subscribers SET mailed_at = NULL WHERE address = ? AND status = ?",
                    (address.lower(), PENDING),
                )

        self._call(run)

    def confirm(self, address: str, nonce: str, suppression_key: str, now: float) -> bool:
        """Confirm the open signup with this nonce; False when there is none (used, gone)."""

        def run() -> bool:
            with self._transaction() as db:
                done = db.execute(
                    "UPDATE subscribers SET status = 'confirmed', confirmed_at = ?, nonce = NULL, "
                    "ip_prefix = NULL WHERE address = ? AND status = 'pending' AND nonce = ?",
                    (timestamp(now), address.lower(), nonce),
                ).rowcount
                if done:  # signing up again lifts an earlier unsubscribe
                    db.execute("DELETE FROM suppressed WHERE key = ?", (suppression_key,))
                return bool(done)

        return self._call(run)

    def is_open(self, address: str, nonce: str) -> bool:
        """Whether the signup with this nonce still waits for its confirmation."""

        def run() -> bool:
            row = self._db.execute(
                "SELECT 1 FROM subscribers WHERE address = ? AND status = 'pending' AND nonce = ?",
                (address.lower(), nonce),
            ).fetchone()
            return row is not None

        return self._call(run)

    def is_confirmed(self, address: str) -> bool:
        def run() -> bool:
            row = self._db.execute(
                "SELECT 1 FROM subscribers WHERE address = ? AND status = 'confirmed'",
                (address.lower(),),
            ).fetchone()
            return row is not None

        return self._call(run)

    def purge_expired(self, before: float) -> int:
        """Delete signups never confirmed whose link expired; how many went."""

        def run() -> int:
            with self._transaction() as db:
                return int(
                    db.execute(
                        "DELETE FROM subscribers WHERE status = 'pending' "
                        "AND COALESCE(mailed_at, signed_up_at) < ?",
                        (timestamp(before),),
                    ).rowcount
                )

        return self._call(run)

    # --- leaving ---------------------------------------------------------------------------

    def forget(self, address: str, suppression_key: str, reason: str, now: float) -> bool:
        """Delete the address's record, keep only its keyed hash; whether there was a record.

        For an unsubscribe (`reason` UNSUBSCRIBED) and for erasure (REMOVED) alike: the address
        is never mailed again unless it signs up and confirms again.
        """

        def run() -> bool:
            with self._transaction() as db:
                deleted = db.execute(
                    "DELETE FROM subscribers WHERE address = ?", (address.lower(),)
                ).rowcount
                db.execute(
                    "INSERT INTO suppressed (key, reason, at) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET reason = excluded.reason, at = excluded.at",
                    (suppression_key, reason, timestamp(now)),
                )
                return bool(deleted)

        return self._call(run)

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and empty it (after an erasure)."""
        self._call(lambda: self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())

    def suppressed_keys(self) -> set[str]:
        return self._call(
            lambda: {row[0] for row in self._db.execute("SELECT key FROM suppressed")}
        )

    # --- lists -------------------------------------------------------------------------------

    def confirmed(self) -> list[Subscriber]:
        """Confirmed subscribers, in the order they confirmed."""
        rows = self._call(
            lambda: self._db.execute(
                "SELECT address, name FROM subscribers WHERE status = 'confirmed' "
                "ORDER BY confirmed_at, address"
            ).fetchall()
        )
        return [Subscriber(row["address"], row["name"]) for row in rows]

    def records(self) -> list[dict[str, Any]]:
        """Every subscriber with its consent record, for export."""
        rows = self._call(
            lambda: self._db.execute(
                "SELECT address, name, status, source, signed_up_at, page, consent_text, "
                "consent_version, ip_prefix, confirmed_at FROM subscribers "
                "ORDER BY signed_up_at, address"
            ).fetchall()
        )
        return [dict(row) for row in rows]

    def suppressed_counts(self) -> dict[str, int]:
        rows = self._call(
            lambda: self._db.execute(
                "SELECT reason, COUNT(*) FROM suppressed GROUP BY reason"
            ).fetchall()
        )
        return {str(row[0]): int(row[1]) for row in rows}

    def add_imported(
        self,
        address: str,
        name: str,
        consent: tuple[str, str],
        now: float,
        nonce: str | None,
    ) -> bool:
        """An address from an existing list, confirmed as imported today (or, with a nonce,
        waiting for its confirmation); False when the address is already in the database."""
        text, version = consent
        status = PENDING if nonce else CONFIRMED
        confirmed_at = None if nonce else timestamp(now)

        def run() -> bool:
            with self._transaction() as db:
                added = db.execute(
                    "INSERT INTO subscribers (address, name, status, source, signed_up_at, "
                    "consent_text, consent_version, confirmed_at, nonce, mailed_at) "
                    "VALUES (?, ?, ?, 'import', ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (address) DO NOTHING",
                    (address.lower(), name, status, timestamp(now), text, version,
                     confirmed_at, nonce, timestamp(now) if nonce else None),
                ).rowcount  # fmt: skip
                return bool(added)

        return self._call(run)


def open_existing(path: Path) -> Store | None:
    """The database read-only when it exists (a send never creates one), else None."""
    if not path.exists():
        return None
    return Store(path, read_only=True)
