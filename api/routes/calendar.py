"""The working calendar and the public deadline calculator (procedures.md §1)."""

import logging
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.params import Query
from starlette.concurrency import run_in_threadpool
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from api.access import Actor, require_role
from api.deps import CurrentActor, DatabaseDep, Locale, ReadSession
from api.errors import NotAllowed, UserFacingError
from api.temporal import TaskQueueDep, TemporalConnection, TemporalDep
from domain.calendar import HOLIDAY_NAMES, WorkingCalendar
from domain.calendar_file import CalendarFileError
from domain.deadlines import Deadline, PeriodKind, basis_label, compute_deadline
from store.calendars import LoadResult, load_calendar, load_schedule_file
from store.db import Database
from store.models import Role
from ui.i18n import N_, gettext, short
from workflows.calendar_rollout import (
    CalendarRolloutInput,
    CalendarRolloutWorkflow,
    rollout_workflow_id,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/calendar", tags=["calendar"])

# The public calculator offers the counted kinds; a fixed date needs none.
CALCULATOR_KINDS = (
    PeriodKind.WORKING_DAYS,
    PeriodKind.CALENDAR_DAYS,
    PeriodKind.MONTHS,
    PeriodKind.YEARS,
)
MAX_UPLOAD_BYTES = 64 * 1024


class InvalidParameter(UserFacingError):
    """A query parameter a person typed wrong; names it and says why."""

    status_code = 422

    def __init__(self, parameter: str, message: str, **params: Any) -> None:
        super().__init__(message, parameter=parameter, **params)
        self.parameter = parameter


def parse_calculator_query(
    kind: str | None, start: str | None, amount: str | None
) -> tuple[PeriodKind, date, int]:
    """Check the calculator's three inputs, naming the first one that is wrong."""
    if kind not in {k.value for k in CALCULATOR_KINDS}:
        raise InvalidParameter(
            "kind",
            N_("kind must be one of: working_days, calendar_days, months, years."),
        )
    try:
        start_date = date.fromisoformat(start or "")
    except ValueError:
        raise InvalidParameter(
            "start", N_("start must be a date written YYYY-MM-DD, e.g. 2026-09-24.")
        ) from None
    try:
        count = int(amount or "")
    except ValueError:
        raise InvalidParameter("amount", N_("amount must be a whole number.")) from None
    limit = 1200 if kind in (PeriodKind.MONTHS, PeriodKind.YEARS) else 3660
    if kind == PeriodKind.YEARS:
        limit = 100
    if not 1 <= count <= limit:
        raise InvalidParameter(
            "amount",
            N_("amount must be between 1 and {limit}."),
            limit=limit,
        )
    if not date(1900, 1, 1) <= start_date <= date(2099, 12, 31):
        raise InvalidParameter(
            "start", N_("start must lie between 1900-01-01 and 2099-12-31.")
        )
    return PeriodKind(kind), start_date, count


def deadline_json(deadline: Deadline, locale: str) -> dict[str, Any]:
    """A deadline as the API and the pages show it: kind, basis and why."""
    language = short(locale)
    return {
        "kind": deadline.kind.value,
        "start": deadline.start.isoformat(),
        "amount": deadline.amount,
        "basis": deadline.basis,
        "basis_label": basis_label(deadline.basis, language),
        "due_date": deadline.due_date.isoformat(),
        "due_at": deadline.due_at.isoformat(),
        "provisional": deadline.provisional,
        "provisional_years": list(deadline.provisional_years),
        "calendar_version": deadline.calendar_version,
        "skipped": [
            {
                "day": day.day.isoformat(),
                "reason": day.reason,
                "name": holiday_name(day.reason, language),
            }
            for day in deadline.skipped
        ],
        "explanation": deadline.explain(language),
    }


def holiday_name(key: str, language: str) -> str:
    names = HOLIDAY_NAMES.get(key)
    if names is None:
        return key
    return names[1] if language == "en" else names[0]


def calculate(
    calendar: WorkingCalendar, kind: str | None, start: str | None, amount: str | None
) -> Deadline:
    period, start_date, count = parse_calculator_query(kind, start, amount)
    return compute_deadline(period, start_date, count, calendar)


@router.get("/deadline")
def deadline(
    session: ReadSession,
    locale: Locale,
    kind: Annotated[str | None, Query()] = None,
    start: Annotated[str | None, Query()] = None,
    amount: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    """Compute a deadline: due date, provisional mark and the reason."""
    return deadline_json(calculate(load_calendar(session), kind, start, amount), locale)


def year_json(calendar: WorkingCalendar, year: int, locale: str) -> dict[str, Any]:
    view = calendar.year_view(year)
    language = short(locale)
    return {
        "year": year,
        "published": view.published,
        "source": view.source,
        "calendar_version": calendar.version,
        "holidays": [
            {"day": d.isoformat(), "key": k, "name": holiday_name(k, language)}
            for d, k in view.holidays
        ],
        "adjusted_workdays": [
            {"day": d.isoformat(), "key": k, "name": holiday_name(k, language)}
            for d, k in view.workdays
        ],
    }


@router.get("/years/{year}")
def year(year: int, session: ReadSession, locale: Locale) -> dict[str, Any]:
    """One year's rest days and adjusted working days, and where they came from."""
    if not 1900 <= year <= 2099:
        raise InvalidParameter("year", N_("year must lie between 1900 and 2099."))
    return year_json(load_calendar(session), year, locale)


def require_calendar_admin(actor: CurrentActor) -> None:
    """Only a province administrator loads the province's calendar."""
    require_role(actor, Role.ADMINISTRATOR)
    if not actor.is_province_admin:
        raise NotAllowed(N_("Only a province administrator may load a calendar."))


async def read_upload(upload: UploadFile) -> str:
    raw = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(raw) > MAX_UPLOAD_BYTES:
        raise UserFacingError(
            N_("The file is too large for a calendar (64 KB at most).")
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserFacingError(N_("The file must be UTF-8 text.")) from None


class CalendarFileRefused(UserFacingError):
    """A refused calendar file, its line and problem in the reader's language."""

    def __init__(self, error: CalendarFileError) -> None:
        super().__init__(N_("The calendar file was refused: {error}"), error=str(error))
        self.error = error

    def text(self, locale: str) -> str:
        problem = gettext(locale, self.error.template).format(**self.error.params)
        if self.error.line_no:
            line = gettext(locale, N_("line {number}")).format(
                number=self.error.line_no
            )
            problem = f"{line}: {problem}"
        return gettext(locale, self.message).format(error=problem)


def _load(database: Database, actor: Actor, text: str, file_name: str) -> LoadResult:
    try:
        with database.write() as session:
            return load_schedule_file(session, text, file_name, actor.id)
    except CalendarFileError as error:
        raise CalendarFileRefused(error) from None


@dataclass(frozen=True)
class Upload:
    loaded: LoadResult
    # Whether the running cases were told to move their timers.
    rolled_out: bool


async def load_upload(
    database: Database,
    temporal: TemporalConnection,
    task_queue: str,
    actor: Actor,
    text: str,
    file_name: str,
) -> Upload:
    """Store the year, recompute the stored deadlines, then move the timers.

    The load commits first: the running cases read the new deadlines when
    the rollout workflow signals them (procedures.md §1).
    """
    loaded = await run_in_threadpool(_load, database, actor, text, file_name)
    try:
        client = await temporal.client()
        await client.start_workflow(
            CalendarRolloutWorkflow.run,
            CalendarRolloutInput(calendar_version=loaded.version),
            id=rollout_workflow_id(loaded.version),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except (RPCError, RuntimeError):
        # The calendar is loaded either way; the stored deadlines are right.
        # The timers of running cases move at their next rung, and the
        # administrator is told to load again to move them now.
        logger.exception("could not start the calendar rollout")
        return Upload(loaded, rolled_out=False)
    return Upload(loaded, rolled_out=True)


@router.post("/schedules", status_code=201)
async def upload_schedule(
    database: DatabaseDep,
    temporal: TemporalDep,
    task_queue: TaskQueueDep,
    actor: CurrentActor,
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    """Load a year's official schedule and recompute every open deadline."""
    require_calendar_admin(actor)
    text = await read_upload(file)
    name = file.filename or "calendar.txt"
    upload = await load_upload(database, temporal, task_queue, actor, text, name)
    result = upload.loaded
    return {
        "running_cases_notified": upload.rolled_out,
        "year": result.year,
        "calendar_version": result.version,
        "recomputed": result.recomputed,
        "moved": [
            {
                "deadline_id": move.deadline_id,
                "case_ref": move.case_ref,
                "old_due_date": move.old_due_date.isoformat(),
                "new_due_date": move.new_due_date.isoformat(),
                "old_provisional": move.old_provisional,
                "new_provisional": move.new_provisional,
            }
            for move in result.moves
        ],
    }
