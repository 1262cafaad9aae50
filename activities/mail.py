"""Sending mail at most once per notification key.

A notification row is written first (its key is unique), then sent, then
marked sent. A retry finds the row and does not send again. If a worker died
while the SMTP server had the message, the row stays `sending`; the next try
marks it `uncertain` instead of risking a duplicate, and people can see it;
so does a connection that breaks once the message may have reached the server.
"""

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import Session, select

from store.db import Database
from store.models import Notification, NotificationStatus
from store.types import utcnow
from wuye.settings import Settings

logger = logging.getLogger(__name__)

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "mail_templates"),
    autoescape=False,  # plain-text mail
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render_mail(template: str, **context: Any) -> tuple[str, str]:
    """Subject (the template's first line) and body of a mail template."""
    text = _templates.get_template(template).render(**context)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n")


@dataclass(frozen=True)
class Mailer:
    """An SMTP client configured from the settings."""

    settings: Settings

    async def send(self, to: str, subject: str, body: str, key: str) -> None:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = make_msgid(domain="wuye.local")
        message["X-Wuye-Notification"] = key
        message.set_content(body)
        await aiosmtplib.send(
            message,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_username,
            password=self.settings.smtp_password,
            start_tls=self.settings.smtp_start_tls,
            timeout=30,
        )


def enqueue(
    session: Session,
    *,
    key: str,
    recipient_id: int | None,
    recipient_email: str,
    subject: str,
    body: str,
) -> Notification:
    """The notification for `key`, created now unless it exists."""
    existing = session.exec(select(Notification).where(Notification.key == key)).first()
    if existing is not None:
        return existing
    notification = Notification(
        key=key,
        recipient_id=recipient_id,
        recipient_email=recipient_email,
        subject=subject,
        body=body,
    )
    session.add(notification)
    session.flush()
    return notification


def _claim(database: Database, notification_id: int) -> Notification | None:
    """Mark the notification as being sent, unless that was already tried."""
    with database.write() as session:
        notification = session.get(Notification, notification_id)
        if notification is None:
            return None
        if notification.status is NotificationStatus.SENDING:
            notification.status = NotificationStatus.UNCERTAIN
            session.add(notification)
            logger.warning(
                "notification %s may have been sent; not resending", notification_id
            )
            return None
        if notification.status is not NotificationStatus.PENDING:
            return None
        notification.status = NotificationStatus.SENDING
        session.add(notification)
        session.flush()
        session.expunge(notification)
        return notification


def _finish(
    database: Database, notification_id: int, status: NotificationStatus
) -> None:
    with database.write() as session:
        notification = session.get(Notification, notification_id)
        assert notification is not None
        notification.status = status
        if status is NotificationStatus.SENT:
            notification.sent_at = utcnow()
        session.add(notification)


# The server said no, or was never reached: it does not have the message.
# A broken line or a timeout later on (aiosmtplib's SMTPServerDisconnected and
# SMTPReadTimeoutError, both OSErrors) may come after the server took it.
_NOT_TAKEN = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPResponseException,
    aiosmtplib.SMTPRecipientsRefused,
)


def _permanent(error: Exception) -> bool:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(refusal.code >= 500 for refusal in error.recipients)
    return isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 500


async def deliver(database: Database, mailer: Mailer, notification_id: int) -> bool:
    """Send one notification unless it was sent or tried; True if sent now.

    When the server refused the message or could not be reached, the row goes
    back to pending; any other failure may have come after the server took
    the message, so the row becomes uncertain. Either way the error
    propagates so that the activity retries the other notifications.
    """
    notification = await database.run(_claim, database, notification_id)
    if notification is None:
        return False
    try:
        await mailer.send(
            notification.recipient_email,
            notification.subject,
            notification.body,
            notification.key,
        )
    except _NOT_TAKEN as error:
        if _permanent(error):
            # A 5xx refusal will not change on a retry: record it for people
            # to see and let the other notifications go on.
            logger.warning("notification %s refused: %s", notification_id, error)
            await database.run(
                _finish, database, notification_id, NotificationStatus.FAILED
            )
            return False
        await database.run(
            _finish, database, notification_id, NotificationStatus.PENDING
        )
        raise
    except Exception:
        logger.warning(
            "notification %s may have been sent; not resending", notification_id
        )
        await database.run(
            _finish, database, notification_id, NotificationStatus.UNCERTAIN
        )
        raise
    await database.run(_finish, database, notification_id, NotificationStatus.SENT)
    return True
