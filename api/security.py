"""Passwords, server-side sessions and CSRF tokens."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, select

from store.models import Organisation, User, WebSession
from store.types import utcnow

SESSION_COOKIE = "wuye_session"
# Before login there is no session to hold a CSRF token, so the login form
# uses a double-submit cookie instead.
ANON_CSRF_COOKIE = "wuye_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the time of a
# failed login the same whether or not the name is known.
_DUMMY_HASH = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """True when `password` is the user's; takes as long for unknown users."""
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    token: str
    csrf_token: str


def open_session(session: Session, user: User, hours: int) -> OpenedSession:
    """Start a login session for `user`; the token goes in the cookie only."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=_token_id(token),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    return OpenedSession(token=token, csrf_token=csrf)


# Built once: every request looks its session up.
_FIND = (
    select(WebSession, User, Organisation)
    .join(User, col(User.id) == col(WebSession.user_id))
    .join(Organisation, col(Organisation.id) == col(User.organisation_id))
    .where(col(WebSession.id) == bindparam("token_id"))
)


def find_session(
    session: Session, token: str
) -> tuple[WebSession, User, Organisation] | None:
    """The live session, its active user and the user's organisation.

    One query: every request asks this before anything else.
    """
    row = session.exec(_FIND, params={"token_id": _token_id(token)}).first()
    if row is None:
        return None
    web_session, user, organisation = row
    if web_session.expires_at <= utcnow() or not user.is_active:
        return None
    return web_session, user, organisation


def close_session(session: Session, token: str) -> None:
    session.exec(delete(WebSession).where(col(WebSession.id) == _token_id(token)))


def close_all_sessions(session: Session, user_id: int) -> None:
    """End every session of a user, e.g. when the account is disabled."""
    session.exec(delete(WebSession).where(col(WebSession.user_id) == user_id))


def new_anonymous_csrf() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
