"""The audit log: append-only, each entry chained to the one before.

The database refuses updates and deletes (triggers created by the migrations),
and every entry carries the SHA-256 of its content and of its predecessor, so
an edit made behind the triggers' back shows up in `verify_chain`.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from store.models import AuditEvent
from store.types import utcnow

GENESIS = "0" * 64


def _digest(
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    details: str,
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        [
            at.isoformat(timespec="microseconds"),
            actor_id,
            action,
            object_type,
            object_id,
            details,
            prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# Built once: every change of state appends here.
_HEAD = select(col(AuditEvent.hash)).order_by(col(AuditEvent.id).desc()).limit(1)
_INSERT = insert(AuditEvent).returning(col(AuditEvent.id))


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str | int,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Append an event in the caller's transaction, after the current head.

    Returns the new entry's id. Plain statements and values rather than the
    ORM: every change of state appends here, inside the database's write
    lock, which the shorter holds.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Appenders queue here until the transaction ends, so each reads the
        # head its predecessor wrote. SQLite gets the same from BEGIN IMMEDIATE.
        connection.execute(text("SELECT pg_advisory_xact_lock(7460001)"))
    head = connection.execute(_HEAD).scalar()
    entry: dict[str, Any] = {
        "at": utcnow(),
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "details": json.dumps(dict(details or {}), ensure_ascii=False, sort_keys=True),
        "prev_hash": head or GENESIS,
    }
    written = connection.execute(
        _INSERT, {**entry, "hash": _digest(**entry)}
    ).scalar_one()
    assert written is not None
    return int(written)


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found."""

    checked: int
    first_bad_id: int | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.first_bad_id is None


def verify_chain(events: Iterable[AuditEvent]) -> ChainReport:
    """Recompute every link in id order and name the first that is wrong."""
    expected_prev = GENESIS
    checked = 0
    for event in events:
        checked += 1
        if event.prev_hash != expected_prev:
            return ChainReport(checked, event.id, "does not follow the entry before it")
        digest = _digest(
            at=event.at,
            actor_id=event.actor_id,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            details=event.details,
            prev_hash=event.prev_hash,
        )
        if digest != event.hash:
            return ChainReport(checked, event.id, "content was changed")
        expected_prev = event.hash
    return ChainReport(checked, None, None)


def verify_database(session: Session, batch: int = 5000) -> ChainReport:
    """Verify the whole log, streaming it in id order."""
    result = session.exec(
        select(AuditEvent)
        .order_by(col(AuditEvent.id))
        .execution_options(yield_per=batch)
    )
    try:
        return verify_chain(result)
    finally:
        # It may stop at the first bad entry; close PostgreSQL's server cursor.
        result.close()
