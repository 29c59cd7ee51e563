"""Who an issue goes to: the confirmed subscribers, never anybody who left.

`newsletter send` without --recipients sends to the confirmed subscribers in the database; with
a CSV file it sends to the file's addresses, less those that unsubscribed or were removed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sitegen.config import Config
from sitegen.subscribers.recipients import Recipient, RecipientList
from sitegen.subscribers.store import StoreUnavailable, open_existing
from sitegen.subscribers.tokens import secret_from_environment, suppression_key

NOBODY = RecipientList((), (), ())


def confirmed_list(path: Path) -> tuple[RecipientList | None, list[str]]:
    """The confirmed subscribers as recipients, or why there are none to send to."""
    try:
        store = open_existing(path)
        if store is None:
            return None, [
                f"{path}: no subscribers database (subscribers.database in sitegen.toml, or "
                "--db PATH); pass --recipients CSV to send to a list in a file"
            ]
        subscribers = store.confirmed()
        store.close()
    except StoreUnavailable as exc:
        return None, [f"cannot read the subscribers: {exc}"]
    if not subscribers:
        return NOBODY, [f"{path}: no confirmed subscribers to send to"]
    listed = tuple(
        Recipient(subscriber.address, subscriber.name, number)
        for number, subscriber in enumerate(subscribers, start=1)
    )
    return RecipientList(listed, (), ()), []


def without_leavers(
    listed: RecipientList, path: Path, config: Config
) -> tuple[RecipientList, int, list[str]]:
    """`listed` less the addresses that unsubscribed or were removed, and how many went.

    Without a database nobody has left; with one, its suppression list is matched by keyed
    hash, so the signing secret must be in the environment.
    """
    try:
        store = open_existing(path)
        if store is None:
            return listed, 0, []
        keys = store.suppressed_keys()
        store.close()
    except StoreUnavailable as exc:
        return listed, 0, [f"cannot read who unsubscribed: {exc}"]
    if not keys:
        return listed, 0, []
    secret = secret_from_environment(config)
    if secret is None:
        return (
            listed,
            0,
            [
                f"{config.newsletter.unsubscribe_secret_env}: the secret is needed to leave out "
                f"the {len(keys)} addresses that unsubscribed or were removed ({path})"
            ],
        )
    kept = tuple(r for r in listed.recipients if suppression_key(secret, r.address) not in keys)
    return replace(listed, recipients=kept), len(listed.recipients) - len(kept), []
