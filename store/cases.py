"""Cases in the read model: numbering, registration, timeline."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Exists, bindparam, exists, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.complaints import CASE_REFERENCE_PREFIX, case_reference
from store import audit
from store.models import Case, CaseEvent, CaseSequence, Party, Recusal
from store.types import utcnow

# Cases in these states are over: a new complaint is no repeat of them.
CLOSED_STATUSES = ("closed",)


_COUNT_ON = (
    update(CaseSequence)
    .where(
        col(CaseSequence.prefix) == bindparam("of_prefix"),
        col(CaseSequence.year) == bindparam("of_year"),
    )
    .values(last=col(CaseSequence.last) + 1)
    .returning(col(CaseSequence.last))
)


def next_reference(session: Session, year: int) -> str:
    """Allocate the next case number of `year`, in the caller's transaction."""
    for _ in range(3):
        # One statement that counts on and reads back: it holds the row (and
        # on SQLite the write lock) for no longer than the increment.
        last = (
            session.connection()
            .execute(_COUNT_ON, {"of_prefix": CASE_REFERENCE_PREFIX, "of_year": year})
            .scalar()
        )
        if last is not None:
            return case_reference(year, last)
        try:
            # The first case of the year: two first cases may race to create
            # the row; the loser reads the winner's row on its next turn.
            with session.begin_nested():
                session.add(
                    CaseSequence(prefix=CASE_REFERENCE_PREFIX, year=year, last=1)
                )
            return case_reference(year, 1)
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a case number")


def case_by_ref(session: Session, ref: str) -> Case:
    case = session.exec(select(Case).where(Case.ref == ref)).first()
    if case is None:
        raise LookupError(f"no case {ref}")
    return case


def add_case_event(
    session: Session,
    *,
    case_id: int,
    kind: str,
    details: Mapping[str, object] | None = None,
    actor_id: int | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Append to a case's timeline and return the event's id.

    A repeated dedupe key adds nothing and gives None. Written with plain
    statements in the caller's transaction: every activity and registration
    appends here, inside SQLite's one-writer-at-a-time lock.
    """
    connection = session.connection()
    # The unique key decides in the insert itself: no read before it.
    written = connection.execute(
        _EVENT_INSERT[connection.dialect.name],
        {
            "case_id": case_id,
            "at": utcnow(),
            "kind": kind,
            "actor_id": actor_id,
            "details": json.dumps(
                dict(details or {}), ensure_ascii=False, sort_keys=True
            ),
            "dedupe_key": dedupe_key,
        },
    )
    event_id: int | None = written.scalar_one_or_none()
    return event_id


# Built once: every registration and activity appends to a timeline. A
# repeated dedupe key inserts nothing and returns no id, on both databases.
_EVENT_INSERT = {
    "sqlite": sqlite_insert(CaseEvent)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(col(CaseEvent.id)),
    "postgresql": postgresql_insert(CaseEvent)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(col(CaseEvent.id)),
}
_CASE_INSERT = insert(Case).returning(col(Case.id))
_PARTY_INSERT = insert(Party)


def declared_conflict(
    user_id: ColumnElement[Any],
    case_id: ColumnElement[Any],
    company_id: ColumnElement[Any],
) -> Exists:
    """Whether the user declared a conflict with either side of a case (art. 79).

    A conflict with the company covers every case about it; one with a case
    covers that case. A case with no company (NULL) matches only the former.
    """
    recusals = Recusal.__table__  # type: ignore[attr-defined]
    return exists().where(
        recusals.c.user_id == user_id,
        or_(recusals.c.case_id == case_id, recusals.c.company_id == company_id),
    )


def open_repeats(
    session: Session,
    *,
    company_id: int | None,
    compound_id: int | None,
    category: str,
    exclude_ref: str | None = None,
) -> list[str]:
    """Open cases about the same company, compound and category (art. 78(4))."""
    if company_id is None and compound_id is None:
        return []
    query = select(Case.ref).where(
        Case.company_id == company_id,
        Case.compound_id == compound_id,
        Case.category == category,
        col(Case.status).not_in(CLOSED_STATUSES),
    )
    if exclude_ref is not None:
        query = query.where(Case.ref != exclude_ref)
    return list(session.exec(query.order_by(col(Case.id)).limit(20)))


@dataclass(frozen=True)
class ComplaintRegistration:
    """What a caseworker or the public form records on receipt (art. 75)."""

    organisation_id: int
    channel: str
    category: str
    facts: str
    clues: str
    company_id: int | None
    compound_id: int | None
    complainant_name: str
    complainant_phone: str
    complainant_address: str = ""
    anonymous: bool = False
    idempotency_key: str | None = None
    registered_by: int | None = None


def find_by_idempotency_key(session: Session, key: str | None) -> Case | None:
    if not key:
        return None
    return session.exec(select(Case).where(Case.idempotency_key == key)).first()


def register_complaint(
    session: Session, registration: ComplaintRegistration, year: int
) -> Case:
    """Write a new complaint and its complainant; the caller starts the workflow."""
    ref = next_reference(session, year)
    repeats = open_repeats(
        session,
        company_id=registration.company_id,
        compound_id=registration.compound_id,
        category=registration.category,
    )
    case = Case(
        ref=ref,
        procedure="complaint",
        organisation_id=registration.organisation_id,
        channel=registration.channel,
        company_id=registration.company_id,
        compound_id=registration.compound_id,
        category=registration.category,
        facts=registration.facts,
        clues=registration.clues,
        repeat_of=",".join(repeats),
        idempotency_key=registration.idempotency_key,
        registered_by=registration.registered_by,
    )
    # Written with plain statements, inside the write lock; the object is
    # what the caller reads, not attached to the session.
    connection = session.connection()
    case.id = connection.execute(
        _CASE_INSERT, case.model_dump(exclude={"id"})
    ).scalar_one()
    assert case.id is not None
    connection.execute(
        _PARTY_INSERT,
        {
            "case_id": case.id,
            "role": "complainant",
            "name": registration.complainant_name,
            "phone": registration.complainant_phone,
            "address": registration.complainant_address,
            "anonymous": registration.anonymous,
        },
    )
    add_case_event(
        session,
        case_id=case.id,
        kind="case.registered",
        actor_id=registration.registered_by,
        details={"channel": registration.channel, "repeat_of": case.repeat_of},
        dedupe_key=f"{ref}/registered",
    )
    audit.record(
        session,
        actor_id=registration.registered_by,
        action="case.registered",
        object_type="case",
        object_id=ref,
        details={"channel": registration.channel, "category": registration.category},
    )
    return case
