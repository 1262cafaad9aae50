"""The read model: what inboxes, pages and dashboards query.

Workflows own the state of a procedure; these tables are what activities write
so that people can find and sort their work, and what the web app reads.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.types import UTCDateTime, text_enum, utcnow


def _instant(**kwargs: object) -> Column:
    return Column(UTCDateTime(), **kwargs)  # type: ignore[arg-type]


class OrgKind(StrEnum):
    """Levels of the organisation tree, and the bodies beside it."""

    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"  # district or county (区/县)
    STREET = "street"  # street office or township (街道/乡镇)
    COMMUNITY = "community"
    DEPARTMENT = "department"
    MEDIATION_COMMITTEE = "mediation_committee"
    COURT = "court"
    COMPANY = "company"


class DepartmentType(StrEnum):
    """The agencies of procedures.md §8 (art. 53, 77)."""

    HOUSING = "housing"  # 物业行政主管部门
    CONSTRUCTION = "construction"
    PLANNING = "planning"
    URBAN_MANAGEMENT = "urban_management"
    MARKET_SUPERVISION = "market_supervision"
    PUBLIC_SECURITY = "public_security"
    FIRE_RESCUE = "fire_rescue"
    CIVIL_AIR_DEFENCE = "civil_air_defence"
    GREENING = "greening"
    DISCIPLINE_INSPECTION = "discipline_inspection"


class Role(StrEnum):
    """What a user does; jurisdiction comes from the user's organisation."""

    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"
    MEDIATOR = "mediator"
    COMPANY = "company"


class Organisation(SQLModel, table=True):
    """A node of the organisation tree; `path` makes subtree queries cheap."""

    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="organisation.id")
    kind: OrgKind = Field(sa_type=text_enum(OrgKind))
    department_type: DepartmentType | None = Field(
        default=None, sa_type=text_enum(DepartmentType)
    )
    code: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    # "/1/4/9/": the ids from the root down to this node, both ends slashed,
    # so that "is X inside Y" is `X.path.startswith(Y.path)`.
    path: str = Field(default="", index=True, max_length=400)


class Compound(SQLModel, table=True):
    """A residential compound (小区) and the company that serves it."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    street_id: int = Field(foreign_key="organisation.id", index=True)
    company_id: int | None = Field(
        default=None, foreign_key="organisation.id", index=True
    )
    households: int = 0
    address: str = Field(default="", max_length=300)


class User(SQLModel, table=True):
    """A person who signs in."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    display_name: str = Field(max_length=100)
    email: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=200)
    role: Role = Field(sa_type=text_enum(Role))
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    is_active: bool = True
    locale: str = Field(default="zh_CN", max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_instant())


class WebSession(SQLModel, table=True):
    """A server-side login session; deleting the row ends it at once."""

    __tablename__ = "web_session"

    # The SHA-256 of the cookie's token: a copy of the table opens no session.
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_instant())
    expires_at: datetime = Field(sa_column=_instant(nullable=False))


class CalendarSchedule(SQLModel, table=True):
    """One load of one year's official schedule; later loads supersede."""

    __tablename__ = "calendar_schedule"

    # The id doubles as the calendar version: the highest id loaded names
    # the calendar every deadline computed afterwards was computed on.
    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    source: str = Field(max_length=300)
    loaded_at: datetime = Field(default_factory=utcnow, sa_column=_instant())
    loaded_by: int | None = Field(default=None, foreign_key="user.id")
    checksum: str = Field(max_length=64)
    content: str = Field(sa_column=Column(Text, nullable=False))


class DeadlineStatus(StrEnum):
    OPEN = "open"
    MET = "met"
    CANCELLED = "cancelled"


class Deadline(SQLModel, table=True):
    """A legal deadline as people see it, kept in step with its workflow."""

    __table_args__ = (Index("ix_deadline_status_due", "status", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    # Chosen by the workflow that owns the deadline, so that an activity's
    # retry finds the row instead of adding a second one.
    key: str | None = Field(default=None, unique=True, max_length=120)
    case_ref: str | None = Field(default=None, index=True, max_length=40)
    subject: str = Field(max_length=200)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    kind: str = Field(max_length=20)
    start_date: date
    amount: int
    basis: str = Field(max_length=100)
    due_date: date
    due_at: datetime = Field(sa_column=_instant(nullable=False))
    original_due_date: date
    provisional: bool = False
    calendar_version: int = 0
    # JSON list of [day, reason] pairs: why the deadline falls where it does.
    skipped: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    status: DeadlineStatus = Field(
        default=DeadlineStatus.OPEN, sa_type=text_enum(DeadlineStatus)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_instant())


class DeadlineChange(SQLModel, table=True):
    """A move of a deadline, with its reason (procedures.md §1)."""

    __tablename__ = "deadline_change"

    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadline.id", index=True)
    old_due_date: date
    new_due_date: date
    old_provisional: bool
    new_provisional: bool
    reason: str = Field(max_length=300)
    calendar_version: int
    changed_at: datetime = Field(default_factory=utcnow, sa_column=_instant())


class AuditEvent(SQLModel, table=True):
    """An append-only, hash-chained record of a state change or a reveal."""

    __tablename__ = "audit_event"
    # No two events may follow the same one: the chain cannot fork even when
    # two writers race past the lock (see store.audit).
    __table_args__ = (UniqueConstraint("prev_hash", name="uq_audit_prev_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_instant(nullable=False))
    actor_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=60)
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=60)
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    # The server refused it for good (a 5xx reply); sending again cannot help.
    FAILED = "failed"
    # The connection broke while the server had the message: it may or may
    # not have gone out, and sending again could duplicate it, so it is not.
    UNCERTAIN = "uncertain"


class Notification(SQLModel, table=True):
    """A mail the system decided to send; the key makes it happen once."""

    id: int | None = Field(default=None, primary_key=True)
    # What this mail is, e.g. "calendar-missing:2027:user:1": a retry or a
    # second run of the same rung finds the row and sends nothing new.
    key: str = Field(unique=True, max_length=200)
    recipient_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    recipient_email: str = Field(max_length=200)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: NotificationStatus = Field(
        default=NotificationStatus.PENDING,
        sa_type=text_enum(NotificationStatus),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_instant())
    sent_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))


class CaseSequence(SQLModel, table=True):
    """The last number given to a procedure's cases in a year."""

    __tablename__ = "case_sequence"

    prefix: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last: int = 0


class Case(SQLModel, table=True):
    """A procedure instance as people list and read it.

    The workflow with id `ref` owns the state; this row mirrors what the
    pages need. Personal data of the parties lives in `Party`, never here.
    """

    __table_args__ = (
        Index("ix_case_open_by_subject", "company_id", "compound_id", "category"),
        Index("ix_case_org_status", "organisation_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, max_length=40)
    procedure: str = Field(max_length=30)
    # The office that handles the case: its jurisdiction decides who may act.
    organisation_id: int = Field(foreign_key="organisation.id")
    channel: str = Field(max_length=20)
    company_id: int | None = Field(default=None, foreign_key="organisation.id")
    compound_id: int | None = Field(default=None, foreign_key="compound.id")
    category: str = Field(max_length=40)
    facts: str = Field(sa_column=Column(Text, nullable=False))
    clues: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default="registered", max_length=20)
    outcome: str | None = Field(default=None, max_length=30)
    outcome_reason: str | None = Field(default=None, max_length=40)
    transferred_to: int | None = Field(default=None, foreign_key="organisation.id")
    # Cases still open about the same company, compound and category when
    # this one was registered (art. 78(4)), as a comma-separated list of refs.
    repeat_of: str = Field(default="", max_length=400)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=80)
    registered_by: int | None = Field(default=None, foreign_key="user.id")
    registered_at: datetime = Field(default_factory=utcnow, sa_column=_instant())
    held_since: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    accepted_on: date | None = None
    closed_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    extension_days: int = 0
    deliberation: bool = False


class Party(SQLModel, table=True):
    """A person in a case (the complainant): personal data, art. 39."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    role: str = Field(default="complainant", max_length=20)
    name: str = Field(max_length=100)
    phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=300)
    anonymous: bool = False


class CaseEvent(SQLModel, table=True):
    """One line of a case's timeline: what happened, when, by whom."""

    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_instant())
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    kind: str = Field(max_length=40)
    # JSON of ids, dates and codes; free text only where people typed it for
    # the record (a reason, a finding), never a party's personal data.
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    # Makes an activity's retry write the event once.
    dedupe_key: str | None = Field(default=None, unique=True, max_length=200)


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Task(SQLModel, table=True):
    """A human step waiting for someone, as the inboxes show it."""

    __table_args__ = (
        Index(
            "ix_task_queue", "status", "candidate_org_id", "candidate_role", "due_at"
        ),
        Index("ix_task_assignee", "assignee_id", "status", "due_at"),
        Index("ix_task_due", "status", "due_at"),
        # Closing a step asks whether another live step shares its deadline
        # (handling runs under one): without this, a scan of the live tasks.
        Index("ix_task_deadline", "deadline_id"),
    )

    # Chosen by the workflow ("TS-2026-000123/accept/1"), so that opening the
    # same task twice (an activity retry) finds the row instead of a copy.
    id: str = Field(primary_key=True, max_length=80)
    case_id: int = Field(foreign_key="case.id", index=True)
    case_ref: str = Field(max_length=40)
    procedure: str = Field(max_length=30)
    step: str = Field(max_length=30)
    candidate_org_id: int = Field(foreign_key="organisation.id")
    candidate_role: Role = Field(sa_type=text_enum(Role))
    assignee_id: int | None = Field(default=None, foreign_key="user.id")
    status: TaskStatus = Field(default=TaskStatus.OPEN, sa_type=text_enum(TaskStatus))
    priority: int = 0
    # Optimistic lock: a claim or assignment names the version it saw.
    version: int = 1
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id")
    due_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_instant())
    claimed_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    completed_at: datetime | None = Field(
        default=None, sa_column=_instant(nullable=True)
    )
    completed_by: int | None = Field(default=None, foreign_key="user.id")
    outcome: str | None = Field(default=None, max_length=40)
    # The completion form as recorded (JSON), for the case's history.
    record: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class TaskEscalation(SQLModel, table=True):
    """A rung of a task's escalation ladder that has fired (once)."""

    __tablename__ = "task_escalation"
    __table_args__ = (
        UniqueConstraint("task_id", "rung", name="uq_task_rung"),
        # The supervisor's dashboard counts today's escalations: a range, not
        # a scan of every rung that ever fired.
        Index("ix_task_escalation_fired", "fired_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(foreign_key="task.id", index=True, max_length=80)
    rung: str = Field(max_length=20)
    fired_at: datetime = Field(default_factory=utcnow, sa_column=_instant())
    notified: str = Field(default="", max_length=400)


class Recusal(SQLModel, table=True):
    """A declared conflict of interest (回避, art. 79).

    With a company, it covers every case about that company; with a case, it
    covers that case (a relationship to the complainant).
    """

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    company_id: int | None = Field(default=None, foreign_key="organisation.id")
    case_id: int | None = Field(default=None, foreign_key="case.id")
    reason: str = Field(default="", max_length=300)
    declared_at: datetime = Field(default_factory=utcnow, sa_column=_instant())
