"""Dependencies shared by the routes, as `Annotated` aliases."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from api.access import Actor, load_actor
from api.errors import NotAllowed, NotSignedIn
from api.security import (
    ANON_CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    find_session,
    tokens_match,
)
from store.db import Database, get_database
from ui.i18n import DEFAULT_LOCALE, LANG_COOKIE, N_, from_accept_language, normalise
from wuye.settings import Settings, get_settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_EXPIRED = N_(
    "The form has expired or did not come from this site. "
    "Reload the page and try again."
)


# FastAPI runs a plain `def` dependency in its thread pool: a hop to another
# thread and back for every request. What only returns an object already at
# hand is `async def` instead; tests override these two.
async def app_database() -> Database:
    """The process's database (`store.db.get_database`)."""
    return get_database()


async def app_settings() -> Settings:
    return get_settings()


DatabaseDep = Annotated[Database, Depends(app_database)]
SettingsDep = Annotated[Settings, Depends(app_settings)]


def _read_session(database: DatabaseDep) -> Iterator[Session]:
    with database.read() as session:
        yield session


def _write_session(database: DatabaseDep) -> Iterator[Session]:
    with database.write() as session:
        yield session


ReadSession = Annotated[Session, Depends(_read_session)]
# Committed when the handler returns, before the response is sent: a page
# the browser is redirected to must see the change (a new login session, a
# disabled account), and a failed commit must not follow a reported success.
WriteSession = Annotated[Session, Depends(_write_session, scope="function")]


@dataclass(frozen=True)
class Auth:
    """What the request's cookies establish: an actor and a CSRF token."""

    actor: Actor | None
    csrf_token: str


def _lookup(database: Database, token: str | None) -> tuple[Actor, str] | None:
    if not token:
        return None
    with database.read() as session:
        found = find_session(session, token)
        if found is None:
            return None
        web_session, user, organisation = found
        return load_actor(session, user, organisation), web_session.csrf_token


async def resolve_auth(request: Request, database: DatabaseDep) -> Auth:
    """Find the session once per request (the result is cached by FastAPI)."""
    cached: Auth | None = getattr(request.state, "auth", None)
    if cached is not None:
        return cached
    found = await database.run_reading(
        _lookup, database, request.cookies.get(SESSION_COOKIE)
    )
    if found is not None:
        auth = Auth(actor=found[0], csrf_token=found[1])
    else:
        auth = Auth(actor=None, csrf_token=request.cookies.get(ANON_CSRF_COOKIE, ""))
    request.state.auth = auth
    return auth


AuthDep = Annotated[Auth, Depends(resolve_auth)]


async def csrf_protect(request: Request, auth: AuthDep) -> None:
    """Refuse a state-changing request that does not carry the CSRF token."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if given is None and (
        content_type.startswith("application/x-www-form-urlencoded")
        or content_type.startswith("multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not tokens_match(auth.csrf_token, given):
        raise NotAllowed(FORM_EXPIRED)


async def current_actor(auth: AuthDep) -> Actor:
    if auth.actor is None:
        raise NotSignedIn(N_("Please sign in."))
    return auth.actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def optional_actor(auth: AuthDep) -> Actor | None:
    return auth.actor


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


def locale_for(request: Request, auth: Auth) -> str:
    """The language of this response: switch cookie, user, browser, Chinese."""
    return (
        normalise(request.cookies.get(LANG_COOKIE))
        or (normalise(auth.actor.user.locale) if auth.actor else None)
        or from_accept_language(request.headers.get("accept-language"))
        or DEFAULT_LOCALE
    )


async def request_locale(request: Request, auth: AuthDep) -> str:
    return locale_for(request, auth)


Locale = Annotated[str, Depends(request_locale)]
