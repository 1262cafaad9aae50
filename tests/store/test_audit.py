"""The audit log is append-only and its chain shows tampering."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import col, select

from store import audit
from store.db import Database
from store.models import AuditEvent


def _append(database: Database, count: int) -> list[int]:
    ids = []
    with database.write() as session:
        for n in range(count):
            ids.append(
                audit.record(
                    session,
                    actor_id=1,
                    action="case.registered",
                    object_type="case",
                    object_id=f"TS-2026-{n:06d}",
                    details={"channel": "电话"},
                )
            )
    return ids


def test_chain_of_appended_events_verifies(any_database: Database) -> None:
    _append(any_database, 5)

    with any_database.read() as session:
        report = audit.verify_database(session)

    assert report.intact
    assert report.checked >= 5


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"]
)
def test_update_and_delete_are_refused_by_the_database(
    any_database: Database, statement: str
) -> None:
    _append(any_database, 2)

    with (
        pytest.raises((IntegrityError, DBAPIError), match="append-only"),
        any_database.write() as session,
    ):
        session.exec(text(statement))  # type: ignore[call-overload]

    with any_database.read() as session:
        assert audit.verify_database(session).intact


def test_verify_names_the_first_tampered_entry(any_database: Database) -> None:
    ids = _append(any_database, 4)
    tampered = ids[2]
    # Someone with database rights drops the protection and edits history.
    with any_database.write() as session:
        if any_database.is_sqlite:
            session.exec(text("DROP TRIGGER audit_event_no_update"))  # type: ignore[call-overload]
        else:
            disable = "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"
            session.exec(text(disable))  # type: ignore[call-overload]
        edit = "UPDATE audit_event SET details = :details WHERE id = :id"
        session.exec(
            text(edit),  # type: ignore[call-overload]
            params={"id": tampered, "details": '{"channel": "网站"}'},
        )

    with any_database.read() as session:
        report = audit.verify_database(session)

    assert not report.intact
    assert report.first_bad_id == tampered
    assert report.problem == "content was changed"


def test_a_forked_chain_is_refused(database: Database) -> None:
    _append(database, 1)
    with database.read() as session:
        head = session.exec(
            select(AuditEvent).order_by(col(AuditEvent.id).desc())
        ).first()
        assert head is not None

    with pytest.raises(IntegrityError), database.write() as session:
        session.add(
            AuditEvent(
                actor_id=None,
                action="forged",
                object_type="x",
                object_id="1",
                prev_hash=head.prev_hash,
                hash="0" * 64,
            )
        )
