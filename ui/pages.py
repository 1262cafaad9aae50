"""The pages people use: login, home per role, calendar, administration."""

import email
import email.policy
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from api.access import Actor, compounds_in_jurisdiction, require_role
from api.deps import (
    AuthDep,
    CurrentActor,
    DatabaseDep,
    Locale,
    OptionalActor,
    ReadSession,
    SettingsDep,
    WriteSession,
)
from api.errors import NotAllowed, NotFound, UserFacingError
from api.routes.calendar import (
    calculate,
    deadline_json,
    load_upload,
    read_upload,
    require_calendar_admin,
    year_json,
)
from api.routes.deadlines import open_deadlines
from api.routes.directory import set_user_active
from api.security import (
    ANON_CSRF_COOKIE,
    SESSION_COOKIE,
    close_session,
    new_anonymous_csrf,
    open_session,
    verify_password,
)
from api.temporal import TaskQueueDep, TemporalDep
from domain.deadlines import SHANGHAI
from store import audit
from store.calendars import load_calendar, next_year_missing
from store.models import Organisation, Role, User
from ui.i18n import LANG_COOKIE, N_, gettext, normalise
from ui.pages_casework import (
    InboxQuery,
    dashboard_context,
    inbox_context,
    label_deadline_subjects,
)
from ui.render import render
from wuye.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)
dev_router = APIRouter(prefix="/dev", include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else goes home."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or "\\" in target:
        return "/"
    return target


def today() -> Any:
    return datetime.now(SHANGHAI).date()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/login")
def login_page(
    request: Request,
    auth: AuthDep,
    locale: Locale,
    settings: SettingsDep,
    next: Annotated[str | None, Query()] = None,
) -> Response:
    if auth.actor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, locale, settings, next=next)


def _login_form(
    request: Request,
    locale: str,
    settings: Settings,
    *,
    next: str | None,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    token = request.cookies.get(ANON_CSRF_COOKIE) or new_anonymous_csrf()
    request.state.auth = type(request.state.auth)(actor=None, csrf_token=token)
    response = render(
        request,
        "login.html",
        {"next": safe_next(next), "username": username, "error": error},
        locale=locale,
        status_code=status_code,
    )
    response.set_cookie(
        ANON_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


@router.post("/login")
def login(
    request: Request,
    session: WriteSession,
    settings: SettingsDep,
    locale: Locale,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if not verify_password(user, password) or user is None or not user.is_active:
        return _login_form(
            request,
            locale,
            settings,
            next=next,
            username=username,
            error=gettext(
                locale, N_("Wrong user name or password, or the account is disabled.")
            ),
            status_code=400,
        )
    opened = open_session(session, user, settings.session_hours)
    audit.record(
        session,
        actor_id=user.id,
        action="user.login",
        object_type="user",
        object_id=user.id or 0,
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    response.delete_cookie(ANON_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, session: WriteSession, actor: OptionalActor) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        close_session(session, token)
    if actor is not None:
        audit.record(
            session,
            actor_id=actor.id,
            action="user.logout",
            object_type="user",
            object_id=actor.id,
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: Annotated[str | None, Query()] = None) -> Response:
    """Remember the chosen language in a cookie; it is only a preference."""
    locale = normalise(code)
    if locale is None:
        raise NotFound(N_("That language is not available."))
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax")
    return response


def _deadline_rows(
    session: ReadSession, actor: Actor, locale: str
) -> list[dict[str, Any]]:
    from api.routes.deadlines import deadline_row_json

    calendar_today = today()
    rows = []
    for deadline in open_deadlines(session, actor, limit=50):
        row = deadline_row_json(deadline)
        row["overdue"] = deadline.due_date < calendar_today
        rows.append(row)
    return rows


@router.get("/")
def home(
    request: Request, session: ReadSession, actor: CurrentActor, locale: Locale
) -> Response:
    """The home page of the signed-in user's role."""
    context: dict[str, Any] = {
        "deadlines": label_deadline_subjects(
            _deadline_rows(session, actor, locale), locale
        ),
        "today": today(),
    }
    if actor.role is Role.ADMINISTRATOR:
        calendar = load_calendar(session)
        context["calendar_version"] = calendar.version
        # Only those who can load the year are asked to (procedures.md §1).
        if actor.is_province_admin:
            context["missing_year"] = next_year_missing(calendar, today())
    if actor.role is Role.COMPANY:
        context["compounds"] = compounds_in_jurisdiction(session, actor)
    # The caseworker's home is her inbox; the supervisor's, her dashboard
    # (journeys.md).
    if actor.role is Role.CASEWORKER:
        context.update(inbox_context(session, actor, locale, InboxQuery()))
    if actor.role is Role.SUPERVISOR:
        context.update(dashboard_context(session, actor, locale))
    return render(request, f"home_{actor.role.value}.html", context, locale=locale)


def _calendar_context(
    session: ReadSession,
    actor: Actor | None,
    locale: str,
    year: int | None,
    calculator: dict[str, str | None],
) -> dict[str, Any]:
    calendar = load_calendar(session)
    shown = year or today().year
    if not 1900 <= shown <= 2099:
        shown = today().year
    context: dict[str, Any] = {
        "year": year_json(calendar, shown, locale),
        "years": list(range(today().year - 3, today().year + 3)),
        "calculator": calculator,
        "result": None,
        "result_error": None,
        "can_upload": actor is not None and actor.is_province_admin,
        "missing_year": (
            next_year_missing(calendar, today())
            if actor is not None and actor.is_province_admin
            else None
        ),
    }
    if any(calculator.values()):
        try:
            context["result"] = deadline_json(
                calculate(
                    calendar,
                    calculator["kind"],
                    calculator["start"],
                    calculator["amount"],
                ),
                locale,
            )
        except UserFacingError as error:
            context["result_error"] = error.text(locale)
    return context


@router.get("/calendar")
def calendar_page(
    request: Request,
    session: ReadSession,
    actor: OptionalActor,
    locale: Locale,
    year: Annotated[int | None, Query()] = None,
    kind: Annotated[str | None, Query()] = None,
    start: Annotated[str | None, Query()] = None,
    amount: Annotated[str | None, Query()] = None,
) -> Response:
    """The working calendar by year, with the deadline calculator."""
    calculator = {"kind": kind, "start": start, "amount": amount}
    context = _calendar_context(session, actor, locale, year, calculator)
    return render(
        request, "calendar.html", context, locale=locale, partial="calculator"
    )


@router.post("/calendar/upload")
async def calendar_upload(
    request: Request,
    database: DatabaseDep,
    temporal: TemporalDep,
    task_queue: TaskQueueDep,
    actor: CurrentActor,
    locale: Locale,
    file: UploadFile,
) -> Response:
    """Load a year's schedule from the administrator's file."""
    require_calendar_admin(actor)
    upload_error = None
    upload = None
    try:
        text = await read_upload(file)
        name = file.filename or "calendar.txt"
        upload = await load_upload(database, temporal, task_queue, actor, text, name)
    except UserFacingError as error:
        upload_error = error.text(locale)
    empty: dict[str, str | None] = {"kind": None, "start": None, "amount": None}

    def context_of() -> dict[str, Any]:
        with database.read() as session:
            return _calendar_context(
                session,
                actor,
                locale,
                upload.loaded.year if upload else None,
                empty,
            )

    context = await run_in_threadpool(context_of)
    context["upload_error"] = upload_error
    context["loaded"] = upload.loaded if upload else None
    context["rolled_out"] = upload.rolled_out if upload else True
    return render(
        request,
        "calendar.html",
        context,
        locale=locale,
        status_code=400 if upload_error else 200,
    )


@router.get("/admin/users")
def users_page(
    request: Request, session: ReadSession, actor: CurrentActor, locale: Locale
) -> Response:
    """Accounts inside the administrator's jurisdiction."""
    require_role(actor, Role.ADMINISTRATOR)
    inside = select(Organisation.id).where(
        col(Organisation.path).startswith(actor.jurisdiction.path)
    )
    rows = session.exec(
        select(User, Organisation)
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(col(User.organisation_id).in_(inside))
        .order_by(col(Organisation.path), col(User.username))
    ).all()
    return render(request, "users.html", {"rows": rows}, locale=locale)


@router.post("/admin/users/{user_id}/{action}")
def users_action(
    user_id: int, action: str, session: WriteSession, actor: CurrentActor
) -> Response:
    """Disable or enable an account from the users page."""
    if action not in ("disable", "enable"):
        raise NotFound(N_("No such action."))
    set_user_active(session, actor, user_id, active=action == "enable")
    return RedirectResponse("/admin/users", status_code=303)


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMINISTRATOR:
        raise NotAllowed(N_("Only an administrator may read the development mail."))


def _read_message(path: Path) -> dict[str, Any]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain", "html"))
    return {
        "name": path.name,
        "from": str(message.get("From", "")),
        "to": str(message.get("To", "")),
        "subject": str(message.get("Subject", "")),
        "date": str(message.get("Date", "")),
        "body": body.get_content() if body is not None else "",
    }


@dev_router.get("/mail")
def dev_mail(
    request: Request, actor: CurrentActor, locale: Locale, settings: SettingsDep
) -> Response:
    """Messages the development SMTP sink received, newest first."""
    _require_admin(actor)
    folder = settings.mail_sink_dir
    files = sorted(folder.glob("*.eml"), reverse=True)[:200] if folder.exists() else []
    messages = [_read_message(path) for path in files]
    return render(request, "mail.html", {"messages": messages}, locale=locale)


@dev_router.get("/mail/{name}")
def dev_mail_message(
    name: str,
    request: Request,
    actor: CurrentActor,
    locale: Locale,
    settings: SettingsDep,
) -> Response:
    """One received message."""
    _require_admin(actor)
    path = settings.mail_sink_dir / Path(name).name
    if not path.is_file() or path.suffix != ".eml":
        raise NotFound(N_("No such message."))
    return render(
        request,
        "mail.html",
        {"messages": [_read_message(path)], "single": True},
        locale=locale,
    )
