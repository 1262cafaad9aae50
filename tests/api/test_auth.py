"""Sign-in, sessions, account disabling, CSRF and cookie flags."""

from collections.abc import Callable

import pytest
from sqlmodel import select

from api.deps import app_settings
from api.main import all_routes
from api.security import SESSION_COOKIE
from store.db import Database
from store.models import AuditEvent, User, WebSession
from tests.conftest import Browser, user_id
from wuye.settings import Settings

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def test_login_with_right_password_opens_a_session(
    database: Database, make_client: Callable[..., Browser]
) -> None:
    client = make_client()

    client.login("wang")
    me = client.get("/api/me").json()

    assert me["username"] == "wang"
    assert me["jurisdiction"]["code"] == "S1"
    with database.read() as session:
        actions = session.exec(select(AuditEvent.action)).all()
    assert "user.login" in actions


def test_passwords_are_stored_as_argon2_hashes(database: Database) -> None:
    with database.read() as session:
        hashes = session.exec(select(User.password_hash)).all()

    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_login_with_wrong_password_keeps_the_name_and_says_why(
    make_client: Callable[..., Browser],
) -> None:
    client = make_client()
    client.get("/login")

    response = client.post(
        "/login",
        data={
            "username": "wang",
            "password": "wrong",
            "csrf_token": client.cookies.get("wuye_csrf"),
        },
    )

    assert response.status_code == 400
    assert "用户名或密码错误" in response.text
    assert 'value="wang"' in response.text
    assert client.cookies.get(SESSION_COOKIE) is None


def test_logout_ends_the_session_at_once(
    database: Database, make_client: Callable[..., Browser]
) -> None:
    client = make_client("wang")
    token = client.cookies.get(SESSION_COOKIE)

    client.post("/logout", data={"csrf_token": client.csrf})
    client.cookies.set(SESSION_COOKIE, token or "")  # a stolen copy of the cookie

    assert client.get("/api/me").status_code == 401
    with database.read() as session:
        assert session.exec(select(WebSession)).all() == []


def test_disabling_an_account_ends_its_sessions_at_once(
    database: Database, make_client: Callable[..., Browser]
) -> None:
    wang = make_client("wang")
    admin = make_client("d1admin")

    response = admin.post(
        f"/api/users/{user_id(database, 'wang')}/disable",
        headers={"X-CSRF-Token": admin.csrf},
    )

    assert response.status_code == 200
    assert wang.get("/api/me").status_code == 401
    relogin = make_client()
    relogin.get("/login")
    refused = relogin.post(
        "/login",
        data={
            "username": "wang",
            "password": "wuye-demo-2026",
            "csrf_token": relogin.cookies.get("wuye_csrf"),
        },
    )
    assert refused.status_code == 400


def _unsafe_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in all_routes()
        for method in (route.methods or set()) & UNSAFE
    )


@pytest.mark.parametrize("method, route", _unsafe_routes())
def test_state_change_without_csrf_token_is_refused(
    make_client: Callable[..., Browser], method: str, route: str
) -> None:
    client = make_client("admin")
    path = route.replace("{user_id}", "1").replace("{action}", "disable")

    missing = client.request(method, path, data={"x": "1"}, follow_redirects=False)
    wrong = client.request(
        method, path, headers={"X-CSRF-Token": "forged"}, follow_redirects=False
    )

    assert missing.status_code == 403
    assert wrong.status_code == 403
    assert "表单已过期" in missing.json()["detail"]


def test_login_without_csrf_cookie_is_refused(
    make_client: Callable[..., Browser],
) -> None:
    client = make_client()

    response = client.post(
        "/login", data={"username": "wang", "password": "wuye-demo-2026"}
    )

    assert response.status_code == 403


@pytest.mark.parametrize("env, secure", [("production", True), ("development", False)])
def test_session_cookie_flags(
    database: Database,
    make_client: Callable[..., Browser],
    env: str,
    secure: bool,
) -> None:
    settings = Settings(WUYE_ENV=env, SECRET_KEY="s" * 40)
    client = make_client(https=True)
    client.app.dependency_overrides[app_settings] = lambda: settings  # type: ignore[attr-defined]
    client.get("/login")

    response = client.post(
        "/login",
        data={
            "username": "wang",
            "password": "wuye-demo-2026",
            "csrf_token": client.cookies.get("wuye_csrf"),
        },
        follow_redirects=False,
    )

    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert ("Secure" in cookie) is secure


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(WUYE_ENV="production")
