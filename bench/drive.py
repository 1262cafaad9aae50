"""Driving the system as people would: over HTTP, in closed and open loops."""

import asyncio
import json
import math
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from yarl import URL

from bench.bare import UPDATES, BareCaseWorkflow, TrivialWorkflow

T = TypeVar("T")
CSRF_COOKIE = "wuye_csrf"  # api.security.ANON_CSRF_COOKIE
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# What a caseworker types on each step's form (tests/casework/test_complaint_api.py).
FORMS: list[dict[str, Any]] = [
    {"outcome": "handle", "note": "已受理", "no_conflict": True},
    {"note": "已调查：电梯控制柜故障"},
    {"note": "已核实：物业已更换部件"},
    {"note": "已电话告知投诉人处理结果"},
    {"note": "归档"},
]
STEP_NAMES = ("accept", "investigate", "verify", "feedback", "archive")
POLL_S = 0.25  # how often a person waiting for a new task looks again
LOGIN_ATTEMPTS = 40
COMPLETE_ATTEMPTS = 50
# Things the system did that a person would have had to work around.
EVENTS: Counter[str] = Counter()
# The workflow id of a case each side finished, to read its history.
FINISHED: dict[str, str] = {}


class DriveError(RuntimeError):
    """The system answered something a person could not go on from."""


@dataclass(frozen=True)
class Reply:
    """An HTTP response, read to its end."""

    status_code: int
    content_type: str
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def expect(response: Reply, status: int, what: str) -> Any:
    if response.status_code != status:
        raise DriveError(f"{what}: HTTP {response.status_code} {response.text[:300]!r}")
    return response.json() if "json" in response.content_type else None


class Person:
    """A signed-in user with a connection of their own.

    The client is aiohttp's: the people's browsers would be on machines of
    their own, but here they share the cores with what they measure, and
    httpx spends about four times aiohttp's CPU on a request (0.8 against
    0.2 ms, measured side by side on /healthz; bench/README.md).
    """

    def __init__(self, base_url: str, username: str) -> None:
        self.username = username
        self.base_url = base_url
        self.http = aiohttp.ClientSession(
            base_url=base_url,
            timeout=aiohttp.ClientTimeout(total=120),
            # The server is an IP address, whose cookies aiohttp drops unless
            # told otherwise.
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            # Idle connections are dropped before uvicorn's 5 s keep-alive
            # ends them, or a request could go out on one being closed.
            connector=aiohttp.TCPConnector(limit=50, keepalive_timeout=2),
        )
        self.csrf = ""
        self.reloads = 0  # pages loaded again because the login was not in yet

    def cookie(self, name: str) -> str:
        found = self.http.cookie_jar.filter_cookies(URL(self.base_url)).get(name)
        return found.value if found is not None else ""

    async def _send(self, method: str, path: str, **options: Any) -> Reply:
        async with self.http.request(
            method, path, allow_redirects=False, **options
        ) as response:
            return Reply(response.status, response.content_type, await response.text())

    async def get(
        self,
        path: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        return await self._send("GET", path, params=params, headers=headers)

    async def login(self) -> "Person":
        from wuye.seed import DEMO_PASSWORD  # late: it imports the application

        await self.get("/login")
        response = await self._send(
            "POST",
            "/login",
            data={
                "username": self.username,
                "password": DEMO_PASSWORD,
                "csrf_token": self.cookie(CSRF_COOKIE),
            },
        )
        if response.status_code != 303:
            raise DriveError(f"login of {self.username}: HTTP {response.status_code}")
        # The login's session row is committed after its 303 is sent (see
        # bench/README.md): a page asked for at once may find no session yet.
        for attempt in range(LOGIN_ATTEMPTS):
            page = await self.get("/calendar")
            found = _CSRF.search(page.text)
            if found is not None:
                self.reloads = attempt
                break
            await asyncio.sleep(0.05)
        else:
            raise DriveError(
                f"no CSRF token on the calendar page for {self.username}:"
                f" HTTP {page.status_code} {page.text[:200]!r}"
            )
        self.csrf = found.group(1)
        return self

    async def post(self, path: str, body: object | None = None) -> Reply:
        return await self._send(
            "POST", path, json=body, headers={"X-CSRF-Token": self.csrf}
        )

    async def close(self) -> None:
        await self.http.close()


async def sign_in(
    base_url: str, usernames: list[str], parallel: int = 4
) -> list[Person]:
    """Log everyone in once (a few at a time: each login hashes a password)."""
    gate = asyncio.Semaphore(parallel)

    async def one(name: str) -> Person:
        async with gate:
            return await Person(base_url, name).login()

    return list(await asyncio.gather(*(one(name) for name in usernames)))


def registration(compound_ids: list[int], rng: random.Random) -> dict[str, Any]:
    return {
        "channel": "phone",
        "category": rng.choice(["lifts", "noise", "parking", "fees", "utilities"]),
        "facts": "3号楼电梯停运一周，老人无法下楼",
        "clues": "3号楼1单元",
        "compound_id": rng.choice(compound_ids),
        "complainant_name": "张三",
        "complainant_phone": "13812345678",
    }


async def register(person: Person, body: dict[str, Any]) -> str:
    data = expect(await person.post("/api/complaints", body), 201, "registration")
    return str(data["ref"])


async def first_task(person: Person, ref: str, within: float = 120) -> str:
    """Look at the office's queue until the case's acceptance task is there."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        response = await person.get(
            "/api/tasks", params={"scope": "group", "step": "accept", "size": "200"}
        )
        for item in expect(response, 200, "group inbox")["items"]:
            if item["case_ref"] == ref:
                return str(item["task_id"])
        await asyncio.sleep(POLL_S)
    raise DriveError(f"the acceptance task of {ref} did not appear in {within:.0f} s")


class Timings:
    """Seconds each kind of request took, for the notes of the run."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}

    def clear(self) -> None:
        self.seconds.clear()

    async def timed(self, what: str, work: Awaitable[T]) -> T:
        began = time.monotonic()
        try:
            return await work
        finally:
            self.seconds.setdefault(what, []).append(time.monotonic() - began)

    def summary(self) -> str:
        parts = []
        for what, values in self.seconds.items():
            ordered = sorted(values)
            middle = ordered[len(ordered) // 2]
            parts.append(f"{what} {middle * 1000:.0f}")
        return ", ".join(parts)


TIMINGS = Timings()


async def api_case(person: Person, body: dict[str, Any]) -> None:
    """A complaint registered, accepted for handling and worked to the archive."""
    timed = TIMINGS.timed
    ref = await timed("register", register(person, body))
    task_id = await timed("wait for accept task", first_task(person, ref))
    for number, form in enumerate(FORMS):
        step = STEP_NAMES[number]
        if f"/{step}/" not in task_id:
            raise DriveError(f"expected a {step} task, got {task_id}")
        if number == 0:
            # From the office's queue. Every later step opens in her own
            # inbox: the caseworker who accepted a case carries it.
            claimed = await timed("claim", person.post(f"/api/tasks/{task_id}/claim"))
            expect(claimed, 200, f"claim {step}")
        result = await timed(f"complete {step}", complete(person, task_id, form, step))
        if number + 1 < len(FORMS):
            if len(result["open_tasks"]) != 1:
                raise DriveError(f"after {step}: open tasks {result['open_tasks']}")
            task_id = result["open_tasks"][0]
        elif result["status"] != "closed":
            raise DriveError(f"after archive the case is {result['status']}")
    FINISHED["api"] = ref


async def bare_case_timed(client: Client, task_queue: str) -> None:
    await TIMINGS.timed("bare case", bare_case(client, task_queue))


async def complete(
    person: Person, task_id: str, form: dict[str, Any], step: str
) -> Any:
    """Complete a claimed task; again, a moment later, on 409.

    Until workflows/human_tasks.py was changed to hold a task as open
    before its row is written, a completion sent as soon as the task was in
    the inbox could be refused with 409 "completed already". A person would
    reload and send it again; so does this, and counts each time, so that
    the race shows in the notes should it come back.
    """
    for _ in range(COMPLETE_ATTEMPTS):
        response = await person.post(f"/api/tasks/{task_id}/complete", form)
        if response.status_code != 409:
            return expect(response, 200, f"complete {step}")
        EVENTS[f"409 on complete {step}, sent again"] += 1
        await asyncio.sleep(0.1)
    return expect(response, 200, f"complete {step}")


async def bare_case(client: Client, task_queue: str) -> None:
    """The bare workflow: started, then its five Updates one after another."""
    case = f"bare-{uuid.uuid4().hex[:12]}"
    handle = await client.start_workflow(
        BareCaseWorkflow.run, case, id=case, task_queue=task_queue
    )
    for step in range(UPDATES):
        await handle.execute_update(BareCaseWorkflow.complete, step)
    FINISHED["bare"] = case


async def history_summary(client: Client, workflow_id: str) -> str:
    """How many events a finished case left in its history, by the common kinds."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    kinds: Counter[str] = Counter()
    for event in history.events:
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        if name.startswith("WORKFLOW_TASK"):
            kinds["workflow tasks"] += name == "WORKFLOW_TASK_COMPLETED"
        elif name.startswith("ACTIVITY_TASK"):
            kinds["activities"] += name == "ACTIVITY_TASK_COMPLETED"
        elif name.startswith("TIMER"):
            kinds["timers"] += name == "TIMER_STARTED"
        elif "UPDATE" in name:
            kinds["updates"] += name.endswith("UPDATE_COMPLETED")
    size = sum(event.ByteSize() for event in history.events)
    counted = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    return f"{len(history.events)} events ({size} bytes): {counted}"


async def bare_start(client: Client, task_queue: str) -> None:
    case = f"start-{uuid.uuid4().hex[:12]}"
    await client.start_workflow(
        TrivialWorkflow.run, case, id=case, task_queue=task_queue
    )


# -- closed loops: throughput at a fixed number in flight -----------------------


@dataclass
class Window:
    """The rounds that ended inside the measuring window, `loops` in flight.

    The rate is Little's law, loops / mean round time: with a fixed number
    in flight it is the throughput, and unlike counting completions in the
    window it does not depend on where the loops' rounds, which tend to
    finish in waves, fall against the window's edges.
    """

    loops: int
    seconds: float
    durations: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.durations)

    @property
    def mean_s(self) -> float:
        return sum(self.durations) / len(self.durations) if self.durations else math.nan

    @property
    def rate(self) -> float:
        return self.loops / self.mean_s if self.durations else math.nan

    def add(self, other: "Window") -> None:
        self.loops = other.loops
        self.seconds += other.seconds
        self.durations.extend(other.durations)
        self.errors.extend(other.errors)


async def closed_loops(
    actions: list[Callable[[], Awaitable[None]]],
    window_s: float,
    min_in_window: int,
    limit_s: float = 300,
    drain_s: float = 60,
    on_open: Callable[[], None] = lambda: None,
    on_close: Callable[[], None] = lambda: None,
    warm: bool = True,
) -> Window:
    """Run one loop per action; measure completions in a window.

    The window opens once every loop has completed one round (steady state,
    the same number in flight; at once unless `warm`), and closes after
    `window_s` seconds with at least `min_in_window` completions in it. Loops
    then finish the round they are in (for up to `drain_s`, then they are
    cancelled), so the next measurement starts on a quiet system.
    """
    done: list[tuple[float, float]] = []  # (began, ended) of each round
    warmed: set[int] = set()
    all_warm = asyncio.Event()
    stop = asyncio.Event()
    errors: list[str] = []
    started = time.monotonic()

    async def loop(index: int, action: Callable[[], Awaitable[None]]) -> None:
        while not stop.is_set() and time.monotonic() - started < limit_s:
            began = time.monotonic()
            try:
                await action()
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
                if len(errors) > 5:
                    stop.set()
                    all_warm.set()
                    return
                continue
            done.append((began, time.monotonic()))
            warmed.add(index)
            if len(warmed) == len(actions):
                all_warm.set()

    if not warm:
        all_warm.set()
    tasks = [asyncio.create_task(loop(i, a)) for i, a in enumerate(actions)]
    try:
        await asyncio.wait_for(all_warm.wait(), timeout=limit_s)
        opened = time.monotonic()
        on_open()
        closes = opened + window_s
        while time.monotonic() - started < limit_s:
            now = time.monotonic()
            inside = sum(1 for _began, ended in done if ended > opened)
            if (now >= closes and inside >= min_in_window) or stop.is_set():
                break
            await asyncio.sleep(0.02)
        closed = time.monotonic()
        on_close()
        durations = [ended - began for began, ended in done if opened < ended <= closed]
    finally:
        stop.set()
        _finished, running = await asyncio.wait(tasks, timeout=drain_s)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    if errors and not durations:
        raise DriveError(f"every round failed: {errors[0]}")
    return Window(
        loops=len(actions),
        seconds=closed - opened,
        durations=durations,
        errors=errors,
    )


# -- an open loop: latency at a fixed arrival rate ------------------------------


@dataclass
class Latencies:
    millis: list[float]
    errors: list[str]
    unfinished: int = 0

    def percentile(self, p: float) -> float:
        if not self.millis:
            return math.nan
        ordered = sorted(self.millis)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]


async def open_loop(
    request: Callable[[int], Awaitable[None]], rate: float, seconds: float
) -> Latencies:
    """Send request `i` at start + i/rate, whatever came back before.

    Latency is counted from the scheduled instant, so a server that falls
    behind is charged for the queue it built (no coordinated omission).
    """
    count = max(1, int(rate * seconds))
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    millis: list[float] = []
    errors: list[str] = []

    async def one(index: int, scheduled: float) -> None:
        try:
            await request(index)
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
            return
        millis.append((loop.time() - scheduled) * 1000)

    tasks: dict[asyncio.Task[None], float] = {}
    for index in range(count):
        scheduled = start + index / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks[asyncio.create_task(one(index, scheduled))] = scheduled
    # A server far behind could take long to drain its queue: what is still
    # out after this counts with the time it has waited so far (a lower
    # bound), and is cancelled.
    _done, pending = await asyncio.wait(tasks, timeout=max(30, seconds * 2))
    now = loop.time()
    for task in pending:
        task.cancel()
        millis.append((now - tasks[task]) * 1000)
    return Latencies(millis=millis, errors=errors, unfinished=len(pending))
