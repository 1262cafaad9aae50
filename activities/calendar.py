"""Activities of the calendar watch: check the coming year, warn admins."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select
from temporalio import activity

from activities.mail import Mailer, deliver, enqueue, render_mail
from domain.deadlines import SHANGHAI
from store.calendars import load_calendar, next_year_missing
from store.db import Database
from store.models import Organisation, OrgKind, Role, User


@dataclass
class CalendarCheckInput:
    today: str  # ISO date in Asia/Shanghai, from the workflow's clock


@dataclass
class CalendarCheckResult:
    missing_year: int | None


@dataclass
class CalendarWarningInput:
    year: int
    # ISO date the mail names as today, from the workflow's clock; runs
    # scheduled before this field existed leave it out.
    today: str | None = None


class CalendarActivities:
    """Built by the worker with its database and mailer."""

    def __init__(self, database: Database, mailer: Mailer, base_url: str) -> None:
        self.database = database
        self.mailer = mailer
        self.base_url = base_url

    def _check(self, today: date) -> int | None:
        with self.database.read() as session:
            return next_year_missing(load_calendar(session), today)

    @activity.defn
    async def check_next_year(self, check: CalendarCheckInput) -> CalendarCheckResult:
        """Whether next year lacks a schedule now that November has come."""
        year = await self.database.run_reading(
            self._check, date.fromisoformat(check.today)
        )
        return CalendarCheckResult(missing_year=year)

    def _enqueue_warnings(self, year: int, today: str) -> list[int]:
        with self.database.write() as session:
            admins = session.exec(
                select(User)
                .join(Organisation, col(Organisation.id) == col(User.organisation_id))
                .where(
                    User.role == Role.ADMINISTRATOR,
                    Organisation.kind == OrgKind.PROVINCE,
                    col(User.is_active),
                    User.email != "",
                )
            ).all()
            ids = []
            for admin in admins:
                subject, body = render_mail(
                    "calendar_missing.txt",
                    year=year,
                    name=admin.display_name,
                    today=today,
                    calendar_url=f"{self.base_url}/calendar",
                )
                notification = enqueue(
                    session,
                    key=f"calendar-missing:{year}:user:{admin.id}",
                    recipient_id=admin.id,
                    recipient_email=admin.email,
                    subject=subject,
                    body=body,
                )
                assert notification.id is not None
                ids.append(notification.id)
            return ids

    @activity.defn
    async def warn_administrators(self, warning: CalendarWarningInput) -> int:
        """Mail each province administrator once about the missing year."""
        today = warning.today or datetime.now(SHANGHAI).date().isoformat()
        ids = await self.database.run(self._enqueue_warnings, warning.year, today)
        sent = 0
        for notification_id in ids:
            if await deliver(self.database, self.mailer, notification_id):
                sent += 1
        return sent
