"""The send log: an append-only, fsynced record per message, so no one gets an issue twice."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ATTEMPT, SENT, FAILED = "attempt", "sent", "failed"


class SendLogBusy(Exception):
    """Another send of the same issue holds the log."""


@dataclass
class SendState:
    """What earlier runs did, per lowercased address."""

    sent: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)  # handed over, acceptance never seen
    failed: set[str] = field(default_factory=set)  # refused last time; tried again


class SendLog:
    """One JSON line per event; `attempt` before a message is handed over, `sent` after.

    An address with an `attempt` but no `sent` may or may not have its copy (the run
    was killed, or the connection lost, while the server decided): it is uncertain.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise SendLogBusy(f"{path} is in use by another send of this issue") from None
        self._file.seek(0)
        existing = self._file.read()
        self.state = _replay(existing)
        if existing and not existing.endswith("\n"):
            self._file.write("\n")  # a line cut short by a crash stays on its own line

    def record(self, event: str, address: str, detail: str = "") -> None:
        """Append one event and make it durable before returning."""
        entry = {"time": _now(), "event": event, "address": address}
        if detail:
            entry["detail"] = detail
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_state(path: Path) -> SendState:
    """What earlier runs did, without creating or locking the log (for a dry run)."""
    return _replay(path.read_text(encoding="utf-8")) if path.exists() else SendState()


def _replay(text: str) -> SendState:
    last: dict[str, str] = {}
    sent: set[str] = set()
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            event, address = str(entry["event"]), str(entry["address"]).lower()
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line from a killed run
        last[address] = event
        if event == SENT:
            sent.add(address)
    state = SendState(sent=sent)
    for address, event in last.items():
        if address in sent:
            continue
        if event == ATTEMPT:
            state.uncertain.add(address)
        elif event == FAILED:
            state.failed.add(address)
    return state


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
