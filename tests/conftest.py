"""Fixtures: real databases (SQLite and PostgreSQL), the app, demo users."""

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Settings are read once per process: point them at throwaway places before
# anything imports the application.
_TMP = Path(tempfile.mkdtemp(prefix="wuye-tests-"))
os.environ.setdefault("WUYE_ENV", "test")
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'default.db'}"
os.environ["MAIL_SINK_DIR"] = str(_TMP / "mail")
# Workers in tests run workflow code in Temporal's sandbox, which refuses a
# call that would not replay on every path the tests walk.
os.environ["WORKFLOW_SANDBOX"] = "true"

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlmodel import select  # noqa: E402

from api.deps import app_database  # noqa: E402
from api.main import create_app  # noqa: E402
from api.security import ANON_CSRF_COOKIE  # noqa: E402
from store.calendars import import_packaged_schedules  # noqa: E402
from store.db import Database  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from store.models import CaseSequence, User  # noqa: E402
from wuye.seed import DEMO_PASSWORD, seed  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "WUYE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def sqlite_url() -> str:
    return f"sqlite:///{_TMP / f'{uuid.uuid4().hex}.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"wuye_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated(url: str, *, demo: bool = True) -> Database:
    database = Database(url)
    upgrade(database.writer)
    with database.write() as session:
        import_packaged_schedules(session)
        if demo:
            seed(session)
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """The migrated, seeded database on SQLite and, again, on PostgreSQL."""
    if request.param == "sqlite":
        database = migrated(sqlite_url())
    else:
        database = migrated(request.getfixturevalue("postgres_url"))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def _seeded_sqlite_file() -> Path:
    """Migrate and seed once; each test gets a copy of the file."""
    path = _TMP / "seeded-template.db"
    template = migrated(f"sqlite:///{path}")
    # Closing the last connection checkpoints the WAL into the main file.
    template.dispose()
    return path


# Case numbers are workflow ids, and the Temporal test server lives for the
# whole session: each test's database numbers its cases from its own block,
# so that no test joins a workflow another test left running.
_case_blocks = itertools.count(1)


def number_cases_apart(database: Database) -> None:
    block = next(_case_blocks) * 1000
    with database.write() as session:
        for year in range(2024, 2032):
            session.add(CaseSequence(prefix="TS", year=year, last=block))


@pytest.fixture
def database(_seeded_sqlite_file: Path) -> Iterator[Database]:
    """A migrated, seeded embedded database (SQLite) of the test's own."""
    path = _TMP / f"{uuid.uuid4().hex}.db"
    shutil.copyfile(_seeded_sqlite_file, path)
    database = Database(f"sqlite:///{path}")
    number_cases_apart(database)
    yield database
    database.dispose()


class Browser(TestClient):
    """A client that signs in through the login form, like a person."""

    def login(self, username: str, password: str = DEMO_PASSWORD) -> None:
        self.get("/login")
        response = self.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": self.cookies.get(ANON_CSRF_COOKIE, ""),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    @property
    def csrf(self) -> str:
        """The session's CSRF token, as the page's forms carry it."""
        page = self.get("/calendar").text
        marker = 'name="csrf_token" value="'
        start = page.index(marker) + len(marker)
        return page[start : page.index('"', start)]


@pytest.fixture
def make_client(database: Database) -> Iterator[object]:
    """Make clients of an app bound to the test database."""
    app = create_app()
    app.dependency_overrides[app_database] = lambda: database
    clients: list[Browser] = []

    def make(username: str | None = None, *, https: bool = False) -> Browser:
        scheme = "https" if https else "http"
        client = Browser(app, base_url=f"{scheme}://testserver")
        client.__enter__()
        clients.append(client)
        if username:
            client.login(username)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def user_id(database: Database, username: str) -> int:
    with database.read() as session:
        user = session.exec(select(User).where(User.username == username)).one()
        assert user.id is not None
        return user.id
