"""The calendar watch warns province administrators once about a missing year.

Procedures §1: from 1 November, while next year's holiday schedule is not
loaded, every active province administrator gets one mail for that year.
"""

import uuid
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlmodel import col, select
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from activities.mail import Mailer, deliver, enqueue
from domain.calendar import YearSchedule
from store.calendars import load_schedule
from store.db import Database
from store.models import (
    Notification,
    NotificationStatus,
    Organisation,
    OrgKind,
    Role,
    User,
)
from tests.conftest import user_id
from tests.workflows.conftest import (
    SMTP_HOST,
    free_port,
    installed_binary,
    mail_settings,
    new_worker,
)
from workflows.calendar_watch import (
    CALENDAR_WATCH_ID,
    CalendarWatchInput,
    CalendarWatchResult,
    CalendarWatchWorkflow,
)
from workflows.payloads import DATA_CONVERTER
from wuye.mailsink import MaildirHandler, start_sink
from wuye.worker import ensure_schedules

Sink = tuple[str, int, Path]


async def _watch(
    env: WorkflowEnvironment, database: Database, sink: Sink, today: str | None
) -> CalendarWatchResult:
    """Run one calendar watch on a fresh worker, as the schedule would."""
    host, port, folder = sink
    settings = mail_settings(host, port, folder)
    async with new_worker(env.client, settings, database) as task_queue:
        return await env.client.execute_workflow(
            CalendarWatchWorkflow.run,
            CalendarWatchInput(today=today),
            id=f"calendar-watch-test-{uuid.uuid4()}",
            task_queue=task_queue,
        )


def _mails(folder: Path) -> list[EmailMessage]:
    if not folder.exists():
        return []
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def _add_administrator(database: Database, username: str, *, active: bool) -> None:
    """Another administrator of the demo province."""
    with database.write() as session:
        province = session.exec(
            select(Organisation).where(Organisation.kind == OrgKind.PROVINCE)
        ).first()
        assert province is not None and province.id is not None
        session.add(
            User(
                username=username,
                display_name=f"测试管理员{username}",
                email=f"{username}@example.org",
                password_hash="not-used",
                role=Role.ADMINISTRATOR,
                organisation_id=province.id,
                is_active=active,
            )
        )


def _province_administrators(database: Database) -> dict[str, int]:
    """Email -> id of every active province administrator."""
    with database.read() as session:
        admins = session.exec(
            select(User)
            .join(Organisation, col(Organisation.id) == col(User.organisation_id))
            .where(
                User.role == Role.ADMINISTRATOR,
                Organisation.kind == OrgKind.PROVINCE,
                col(User.is_active),
            )
        ).all()
        return {admin.email: admin.id for admin in admins if admin.id is not None}


def _notifications(database: Database) -> dict[str, Notification]:
    with database.read() as session:
        return {row.key: row for row in session.exec(select(Notification)).all()}


def _pending_notification(database: Database, key: str) -> int:
    """A notification for the demo administrator, not yet sent."""
    recipient = user_id(database, "admin")
    with database.write() as session:
        notification = enqueue(
            session,
            key=key,
            recipient_id=recipient,
            recipient_email="admin@example.org",
            subject="【物业治理】测试通知",
            body="测试正文\n",
        )
        assert notification.id is not None
        return notification.id


def _status(database: Database, notification_id: int) -> NotificationStatus:
    with database.read() as session:
        notification = session.get(Notification, notification_id)
        assert notification is not None
        return notification.status


async def test_watch_in_november_warns_each_province_administrator_once(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    _add_administrator(database, "admin2", active=True)
    _add_administrator(database, "retired", active=False)
    _, _, folder = smtp_sink

    result = await _watch(env, database, smtp_sink, today="2026-11-01")

    recipients = _province_administrators(database)
    assert set(recipients) == {"admin@example.org", "admin2@example.org"}
    assert result == CalendarWatchResult(missing_year=2027, warned=len(recipients))
    mails = _mails(folder)
    assert sorted(str(mail["To"]) for mail in mails) == sorted(recipients)
    for mail in mails:
        assert "2027" in str(mail["Subject"])
        assert "节假日安排" in str(mail["Subject"])
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert "http://127.0.0.1:8000/calendar" in text
        assert "今天是2026-11-01" in text
    notifications = _notifications(database)
    for email, admin_id in recipients.items():
        notification = notifications[f"calendar-missing:2027:user:{admin_id}"]
        assert notification.recipient_email == email
        assert notification.status is NotificationStatus.SENT
        assert notification.sent_at is not None
    assert len(notifications) == len(recipients)


async def test_watch_again_the_same_year_sends_nothing_new(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    _, _, folder = smtp_sink
    first = await _watch(env, database, smtp_sink, today="2026-11-01")

    second = await _watch(env, database, smtp_sink, today="2026-12-15")

    assert first.warned == 1
    assert second == CalendarWatchResult(missing_year=2027, warned=0)
    assert [str(mail["To"]) for mail in _mails(folder)] == ["admin@example.org"]
    assert len(_notifications(database)) == 1


async def test_watch_before_november_sends_nothing(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    _, _, folder = smtp_sink

    result = await _watch(env, database, smtp_sink, today="2026-10-31")

    assert result == CalendarWatchResult(missing_year=None, warned=0)
    assert _mails(folder) == []
    assert _notifications(database) == {}


async def test_watch_with_next_year_loaded_sends_nothing(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    # Fictional: not the State Council's 2027 notice, only a loaded year.
    schedule = YearSchedule(
        year=2027,
        holidays={date(2027, 1, 1): "new_years_day"},
        workdays={},
        source="test: fictional 2027",
    )
    with database.write() as session:
        load_schedule(session, schedule, loaded_by=None)
    _, _, folder = smtp_sink

    result = await _watch(env, database, smtp_sink, today="2026-11-20")

    assert result == CalendarWatchResult(missing_year=None, warned=0)
    assert _mails(folder) == []
    assert _notifications(database) == {}


async def test_watch_without_a_date_checks_the_workflow_clock_in_beijing(
    env: WorkflowEnvironment, database: Database, smtp_sink: Sink
) -> None:
    # The test server's clock starts at the real time, so the expected year
    # follows from it: only 2026 and earlier are loaded in this database.
    beijing_today = (await env.get_current_time() + timedelta(hours=8)).date()
    in_november_or_later = (beijing_today.month, beijing_today.day) >= (11, 1)
    expected = beijing_today.year + 1 if in_november_or_later else None

    result = await _watch(env, database, smtp_sink, today=None)

    assert result.missing_year == expected


async def test_deliver_mail_with_smtp_down_leaves_it_pending_until_the_server_is_up(
    database: Database, tmp_path: Path
) -> None:
    notification_id = _pending_notification(database, "test:smtp-down")
    port = free_port()  # nothing listens here yet
    folder = tmp_path / "mail"
    mailer = Mailer(mail_settings(SMTP_HOST, port))

    with pytest.raises(aiosmtplib.SMTPConnectError):
        await deliver(database, mailer, notification_id)
    status_while_down = _status(database, notification_id)
    sink = start_sink(folder, SMTP_HOST, port)
    try:
        sent = await deliver(database, mailer, notification_id)
    finally:
        sink.stop()

    assert status_while_down is NotificationStatus.PENDING
    assert sent is True
    assert _status(database, notification_id) is NotificationStatus.SENT
    assert [str(mail["X-Wuye-Notification"]) for mail in _mails(folder)] == [
        "test:smtp-down"
    ]


async def test_deliver_mail_left_sending_marks_it_uncertain_without_resending(
    database: Database, smtp_sink: Sink
) -> None:
    # A worker died between claiming the row and marking it sent.
    notification_id = _pending_notification(database, "test:died-mid-send")
    with database.write() as session:
        notification = session.get(Notification, notification_id)
        assert notification is not None
        notification.status = NotificationStatus.SENDING
        session.add(notification)
    host, port, folder = smtp_sink

    sent = await deliver(database, Mailer(mail_settings(host, port)), notification_id)

    assert sent is False
    assert _status(database, notification_id) is NotificationStatus.UNCERTAIN
    assert _mails(folder) == []


class _HangUpAfterData(MaildirHandler):
    """Keeps the message, then drops the line before saying it did."""

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        await super().handle_DATA(server, session, envelope)
        assert server.transport is not None
        server.transport.close()
        return "250 never heard"


async def test_deliver_mail_when_the_line_drops_after_data_marks_it_uncertain(
    database: Database, tmp_path: Path, smtp_sink: Sink
) -> None:
    notification_id = _pending_notification(database, "test:line-dropped")
    port = free_port()
    dropped = tmp_path / "dropped"
    controller = Controller(_HangUpAfterData(dropped), hostname=SMTP_HOST, port=port)
    controller.start()
    try:
        with pytest.raises(aiosmtplib.SMTPServerDisconnected):
            await deliver(
                database, Mailer(mail_settings(SMTP_HOST, port)), notification_id
            )
    finally:
        controller.stop()
    host, sink_port, folder = smtp_sink

    # The activity's retry comes back with a working server.
    sent = await deliver(
        database, Mailer(mail_settings(host, sink_port)), notification_id
    )

    assert len(_mails(dropped)) == 1  # the server did get it
    assert sent is False
    assert _status(database, notification_id) is NotificationStatus.UNCERTAIN
    assert _mails(folder) == []


async def test_ensure_schedules_creates_the_daily_watch_once() -> None:
    # The time-skipping test server has no schedules: use the dev server.
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=installed_binary("temporal"),
        ui=False,
        data_converter=DATA_CONVERTER,
    ) as local:
        await ensure_schedules(local.client, "wuye-test")
        await ensure_schedules(local.client, "wuye-test")

        description = await local.client.get_schedule_handle(
            CALENDAR_WATCH_ID
        ).describe()

    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == "CalendarWatchWorkflow"
    assert action.task_queue == "wuye-test"
    assert description.schedule.spec.time_zone_name == "Asia/Shanghai"
    (daily,) = description.schedule.spec.calendars
    assert [hours.start for hours in daily.hour] == [8]
