"""Fixtures for casework through the API: the app, a real Temporal, a worker."""

import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.deps import app_database
from api.main import create_app
from api.security import ANON_CSRF_COOKIE
from api.temporal import TemporalConnection, get_task_queue, get_temporal
from store.db import Database
from tests.workflows.conftest import (  # noqa: F401 (fixtures used here)
    env,
    mail_settings,
    new_worker,
    smtp_sink,
)
from wuye.seed import DEMO_PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Person:
    """A signed-in user driving the API over HTTP, as the pages would."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.http = client
        self.csrf = ""

    async def login(self, username: str) -> "Person":
        await self.http.get("/login")
        response = await self.http.post(
            "/login",
            data={
                "username": username,
                "password": DEMO_PASSWORD,
                "csrf_token": self.http.cookies.get(ANON_CSRF_COOKIE, ""),
            },
        )
        assert response.status_code == 303, response.text
        page = (await self.http.get("/calendar")).text
        found = _CSRF.search(page)
        assert found is not None
        self.csrf = found.group(1)
        return self

    async def post(self, path: str, json: object | None = None) -> httpx.Response:
        return await self.http.post(
            path, json=json, headers={"X-CSRF-Token": self.csrf}
        )

    async def get(self, path: str, **params: str | int | bool) -> httpx.Response:
        return await self.http.get(path, params=params)


PersonFactory = Callable[[str], Awaitable[Person]]


@pytest.fixture
async def casework(
    env: WorkflowEnvironment,  # noqa: F811
    database: Database,
    smtp_sink,  # noqa: F811
) -> AsyncIterator[PersonFactory]:
    """Sign people in to an app bound to the test database, Temporal and worker."""
    host, port, _folder = smtp_sink
    app = create_app()
    async with new_worker(env.client, mail_settings(host, port), database) as queue:
        app.dependency_overrides[app_database] = lambda: database
        connection = TemporalConnection.of(env.client)
        app.dependency_overrides[get_temporal] = lambda: connection
        app.dependency_overrides[get_task_queue] = lambda: queue
        clients: list[httpx.AsyncClient] = []

        async def person(username: str) -> Person:
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            )
            clients.append(client)
            return await Person(client).login(username)

        yield person
        for client in clients:
            await client.aclose()
