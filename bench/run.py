"""The whole run: start the services, measure every figure, report.

1. complaint_api_vs_bare_ratio: complaints worked through the API to the
   archive against the bare workflow of the same shape (bench/bare.py), cases
   per second at the same number in flight, on one embedded Temporal.
2. registration_api_vs_bare_ratio: POST /api/complaints against bare
   workflow starts (no worker polls either queue: the start path alone).
3. inbox_p95_ms_*: the inbox at a fixed arrival rate over 100k and 1M task
   rows, on SQLite and on PostgreSQL, served by uvicorn in its own process.
4. burst_N_first_tasks_visible_s: N registrations at once; the time until
   every case's acceptance task is in the read model.

Side-by-side windows run bare, API, API, bare, so that a drift of the shared
machine during the run falls on both sides alike.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

from sqlalchemy import text
from temporalio.client import Client

from bench import drive
from bench.drive import Person, Window
from bench.report import Figure, Report, Target
from bench.scale import SCALES, Scale, default_scale, size_label
from bench.stack import (
    WEB_PROCESSES,
    Child,
    CpuMeter,
    Stack,
    app_env,
    wait_for_temporal,
    wait_for_web,
)

if TYPE_CHECKING:
    from store.db import Database

# The application's modules (bench.readmodel and what it imports) are
# imported once the services are starting: the seconds they take then overlap
# with the children's own imports.

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "WUYE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CASE_QUEUE = "bench-app"
BARE_QUEUE = "bench-bare"
REGISTRATION_QUEUE = "bench-registrations"
START_QUEUE = "bench-starts"
GROUPS = ("cases", "registrations", "burst", "inbox-sqlite", "inbox-postgres")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def windows(scale: Scale, window_s: float) -> str:
    return ", ".join(
        f"{side} {window_s * multiple:g} s" for side, multiple in scale.rounds
    )


def describe(api: Window, bare: Window) -> str:
    """What each side's rate (in flight / mean round time) comes from."""
    return "; ".join(
        f"{side} {window.count} ended in {window.seconds:.1f} s of windows,"
        f" {window.mean_s * 1000:.0f} ms each on average"
        for side, window in (("API", api), ("bare", bare))
    )


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def side_by_side(
    bare: list[Callable[[], Awaitable[None]]],
    api: list[Callable[[], Awaitable[None]]],
    window_s: float,
    min_in_window: int,
    meters: dict[str, CpuMeter],
    rounds: tuple[tuple[str, float], ...],
    warm: bool,
    drain_s: float,
    rates: list[tuple[str, float]],
) -> tuple[Window, Window]:
    """Bare, API, API, bare: both sides' completions and seconds, summed.

    Each window's own rate is kept in `rates`, in the order they ran.
    """
    totals = {"bare": Window(len(bare), 0.0), "api": Window(len(api), 0.0)}
    rates.clear()
    for side, multiple in rounds:
        meter = meters[side]
        window = await drive.closed_loops(
            bare if side == "bare" else api,
            window_s * multiple,
            min_in_window,
            drain_s=drain_s,
            on_open=meter.start,
            on_close=meter.stop,
            warm=warm,
        )
        totals[side].add(window)
        rates.append((side, window.rate))
    return totals["bare"], totals["api"]


def describe_rates(rates: list[tuple[str, float]], unit: str) -> str:
    return ", ".join(f"{side} {rate:.2f}" for side, rate in rates) + f" {unit}"


def report_errors(report: Report, what: str, window: Window) -> None:
    if window.errors:
        report.note(
            f"{what}: {len(window.errors)} failed rounds, e.g. {window.errors[0]}"
        )


class Run:
    def __init__(self, scale: Scale, folder: Path, report: Report) -> None:
        self.scale = scale
        self.folder = folder
        self.report = report
        self.children: list[Child] = []
        self.service_ms: dict[tuple[str, int], float] = {}

    # -- figures 1, 2 and 4: Temporal, the web app and its worker ---------------

    async def temporal_figures(self, groups: set[str]) -> None:
        scale = self.scale
        began = time.monotonic()
        with Stack(self.folder / "logs") as stack:
            temporal, address = stack.temporal(self.folder / "temporal.db")
            cases_url = sqlite_url(self.folder / "cases.db")
            registrations_url = sqlite_url(self.folder / "registrations.db")
            # Everything starts at once (the imports take seconds each); none
            # of it touches its database before the first request or task.
            web, web_url = stack.web(
                "web-cases", app_env(self.folder, cases_url, address, CASE_QUEUE)
            )
            worker = stack.worker(
                "worker", app_env(self.folder, cases_url, address, CASE_QUEUE)
            )
            stack.bare_worker("bare-worker", address, BARE_QUEUE)
            intake, intake_url = stack.web(
                "web-registrations",
                app_env(self.folder, registrations_url, address, REGISTRATION_QUEUE),
            )
            from bench.readmodel import (
                add_caseworkers,
                demo_compounds,
                migrated,
                number_cases_from,
            )
            from store.db import Database

            # One migration, copied: closing the last connection checkpoints
            # the WAL into the file.
            migrated(cases_url).dispose()
            shutil.copyfile(self.folder / "cases.db", self.folder / "registrations.db")
            cases_db = Database(cases_url)
            users = add_caseworkers(cases_db, scale.concurrency, "bench")
            compounds = demo_compounds(cases_db)
            registrations_db = Database(registrations_url)
            add_caseworkers(registrations_db, scale.concurrency, "bench")
            number_cases_from(registrations_db, 500_000)
            registrations_db.dispose()
            self.children = list(stack.children)
            client = await wait_for_temporal(temporal, address)
            await wait_for_web(web, web_url)
            await wait_for_web(intake, intake_url)
            people = await self.sign_in(web_url, users)
            self.report.note(
                f"Temporal, 2 web servers, 2 workers up in"
                f" {time.monotonic() - began:.0f} s"
            )
            try:
                if "registrations" in groups:
                    await self.guarded(
                        "registrations",
                        self.registrations(client, intake_url, users, compounds),
                    )
                if "cases" in groups:
                    await self.guarded(
                        "cases", self.cases(client, people, compounds, worker)
                    )
                if "burst" in groups:
                    await self.guarded(
                        "burst", self.burst(cases_db, people, compounds, worker)
                    )
            finally:
                for person in people:
                    await person.close()
                cases_db.dispose()

    async def guarded(self, group: str, work: Awaitable[None]) -> None:
        began = time.monotonic()
        try:
            await work
        except Exception as error:
            traceback.print_exc()
            self.report.fail(group, f"{type(error).__name__}: {error}")
        self.report.note(f"{group} took {time.monotonic() - began:.0f} s")

    def meters(self) -> dict[str, CpuMeter]:
        return {"bare": CpuMeter(self.children), "api": CpuMeter(self.children)}

    def note_cpu(self, what: str, meters: dict[str, CpuMeter]) -> None:
        for side in ("bare", "api"):
            self.report.note(
                f"{what}, cores used in the {side} windows: {meters[side].summary()}"
            )

    async def sign_in(self, base_url: str, usernames: list[str]) -> list[Person]:
        people = await drive.sign_in(base_url, usernames)
        late = [person for person in people if person.reloads]
        if late:
            self.report.note(
                f"{len(late)} of {len(people)} logins found no session on the"
                " next page at first (up to"
                f" {max(person.reloads for person in late)} reloads): the session"
                " row is committed after the 303 is sent"
            )
        return people

    async def cases(
        self, client: Client, people: list[Person], compounds: list[int], worker: Child
    ) -> None:
        rng = random.Random(1)

        def api(person: Person) -> Callable[[], Awaitable[None]]:
            return lambda: drive.api_case(person, drive.registration(compounds, rng))

        def bare() -> Awaitable[None]:
            return drive.bare_case_timed(client, BARE_QUEUE)

        drive.EVENTS.clear()
        drive.TIMINGS.clear()
        meters = self.meters()
        rates: list[tuple[str, float]] = []
        bare_window, api_window = await side_by_side(
            [bare] * len(people),
            [api(person) for person in people],
            self.scale.case_window_s,
            self.scale.min_in_window,
            meters,
            self.scale.rounds,
            self.scale.warm,
            self.scale.drain_s,
            rates,
        )
        worker.check()
        for event, count in sorted(drive.EVENTS.items()):
            self.report.note(f"complaint API: {event}: {count} times")
        self.report.note(f"complaint, median ms: {drive.TIMINGS.summary()}")
        self.note_cpu("complaint", meters)
        for side in ("api", "bare"):
            if side in drive.FINISHED:
                summary = await drive.history_summary(client, drive.FINISHED[side])
                self.report.note(f"complaint {side}: history of one case: {summary}")
        report_errors(self.report, "complaint API", api_window)
        report_errors(self.report, "complaint bare", bare_window)
        self.report.note(
            f"{len(people)} cases in flight; {describe(api_window, bare_window)}"
            f" (windows: {windows(self.scale, self.scale.case_window_s)})"
        )
        self.report.note(f"complaint, each window: {describe_rates(rates, 'cases/s')}")
        self.report.add(Figure("complaint_api_cases_per_s", api_window.rate, "cases/s"))
        self.report.add(
            Figure("complaint_bare_cases_per_s", bare_window.rate, "cases/s")
        )
        self.report.add(
            Figure(
                "complaint_api_vs_bare_ratio",
                api_window.rate / bare_window.rate,
                "x",
                Target(">=", 0.7),
            )
        )

    async def registrations(
        self, client: Client, base_url: str, users: list[str], compounds: list[int]
    ) -> None:
        rng = random.Random(2)
        people = await self.sign_in(base_url, users)

        def api(person: Person) -> Callable[[], Awaitable[None]]:
            async def action() -> None:
                await drive.register(person, drive.registration(compounds, rng))

            return action

        def bare() -> Awaitable[None]:
            return drive.bare_start(client, START_QUEUE)

        meters = self.meters()
        rates: list[tuple[str, float]] = []
        try:
            bare_window, api_window = await side_by_side(
                [bare] * len(people),
                [api(person) for person in people],
                self.scale.registration_window_s,
                self.scale.min_in_window,
                meters,
                self.scale.rounds,
                self.scale.warm,
                self.scale.drain_s,
                rates,
            )
        finally:
            for person in people:
                await person.close()
        self.note_cpu("registration", meters)
        report_errors(self.report, "registration API", api_window)
        report_errors(self.report, "registration bare", bare_window)
        self.report.note(
            f"{len(people)} in flight, no worker polling either queue;"
            f" {describe(api_window, bare_window)}"
            f" (windows: {windows(self.scale, self.scale.registration_window_s)})"
        )
        self.report.note(
            f"registration, each window: {describe_rates(rates, 'per second')}"
        )
        self.report.add(
            Figure("registration_api_per_s", api_window.rate, "registrations/s")
        )
        self.report.add(Figure("registration_bare_per_s", bare_window.rate, "starts/s"))
        self.report.add(
            Figure(
                "registration_api_vs_bare_ratio",
                api_window.rate / bare_window.rate,
                "x",
                Target(">=", 0.5),
            )
        )

    async def burst(
        self,
        database: Database,
        people: list[Person],
        compounds: list[int],
        worker: Child,
    ) -> None:
        scale = self.scale
        rng = random.Random(4)
        with database.read() as session:
            before = session.execute(text('SELECT coalesce(max(id), 0) FROM "case"'))
            last_case = int(before.scalar_one())
        gate = asyncio.Semaphore(scale.burst_concurrency)
        failures: list[str] = []

        async def one(number: int) -> None:
            async with gate:
                person = people[number % len(people)]
                try:
                    await drive.register(person, drive.registration(compounds, rng))
                except Exception as error:
                    failures.append(f"{type(error).__name__}: {error}")

        def visible() -> int:
            with database.read() as session:
                found = session.execute(
                    text(
                        "SELECT count(*) FROM task WHERE step = 'accept'"
                        " AND case_id > :last"
                    ),
                    {"last": last_case},
                )
                return int(found.scalar_one())

        started = time.monotonic()
        await asyncio.gather(*(one(number) for number in range(scale.burst)))
        sent = time.monotonic() - started
        registered = scale.burst - len(failures)
        seen = 0
        samples: list[tuple[float, int]] = []
        target_s = 300 * scale.burst / 5000
        # Waiting past the target at least, so a lower bound is a miss.
        wait_s = max(scale.burst_timeout_s, target_s * 1.1)
        while True:
            seen = await asyncio.to_thread(visible)
            samples.append((time.monotonic() - started, seen))
            if seen >= registered or time.monotonic() - started >= wait_s:
                break
            worker.check()
            await asyncio.sleep(0.25)
        took = time.monotonic() - started
        name = f"burst_{scale.burst}"
        if failures:
            self.report.note(
                f"{len(failures)} registrations failed, e.g. {failures[0]}"
            )
        outcome = ""
        if seen < registered:
            # Stopped waiting: the figure is a lower bound. The pace of the
            # last minute says roughly when the rest would have appeared.
            recent = [sample for sample in samples if sample[0] >= took - 60]
            (first_at, first_seen), (last_at, last_seen) = recent[0], recent[-1]
            pace = (last_seen - first_seen) / max(last_at - first_at, 1e-9)
            projected = took + (registered - seen) / pace if pace > 0 else math.inf
            outcome = (
                f" (gave up waiting: a lower bound; at the last minute's pace of"
                f" {pace:.1f} a second all would be visible after about"
                f" {projected:.0f} s)"
            )
        self.report.note(
            f"{registered} registered in {sent:.1f} s ({scale.burst_concurrency}"
            f" in flight); {seen} acceptance tasks visible after {took:.1f} s" + outcome
        )
        self.report.add(
            Figure(f"{name}_registrations_per_s", registered / sent, "registrations/s")
        )
        self.report.add(
            Figure(
                f"{name}_first_tasks_visible_s",
                took,
                "s",
                Target("<", target_s),
            )
        )

    # -- figure 3: the inbox over a large read model ---------------------------

    async def inbox(self, kind: str) -> None:
        from bench.readmodel import create_postgres, drop_postgres

        scale = self.scale
        if kind == "sqlite":
            path = self.folder / "inbox.db"
            url = sqlite_url(path)
        else:
            url = create_postgres(POSTGRES_ADMIN_URL)
        try:
            with Stack(self.folder / "logs") as stack:
                # Started first: it imports while the tables fill.
                web, base_url = stack.web(
                    f"web-inbox-{kind}",
                    app_env(self.folder, url, "127.0.0.1:1", CASE_QUEUE),
                )
                small, large = await self.inbox_loads(kind, url, web, base_url)
        finally:
            if kind == "postgres":
                drop_postgres(POSTGRES_ADMIN_URL, url)
            else:
                remove_sqlite(path)
        alone = [
            self.service_ms[key]
            for key in ((kind, scale.rows_small), (kind, scale.rows_large))
            if key in self.service_ms
        ]
        if len(alone) == 2:
            self.report.note(
                f"{kind}: one view at a time, large/small rows:"
                f" {alone[1] / alone[0]:.2f}x"
            )
        self.report.add(
            Figure(f"inbox_p95_ratio_{kind}", large / small, "x", Target("<=", 4))
        )

    async def inbox_loads(
        self, kind: str, url: str, web: Child, base_url: str
    ) -> tuple[float, float]:
        """p95 over the small table, then over the same grown to the large."""
        from bench.readmodel import BulkWriter, Synthetic, migrated
        from domain.deadlines import SHANGHAI

        scale = self.scale
        began = time.monotonic()
        database = migrated(url)
        writer = BulkWriter(url)
        try:
            synthetic = Synthetic(writer, datetime.now(SHANGHAI).date())
            offices = max(1, scale.rows_small // 200)
            synthetic.populate(database, offices, scale.rows_small)
            self.report.note(
                f"{kind}: {synthetic.rows} task rows ({synthetic.live} open or"
                f" claimed, {offices} street offices, {offices * 10} caseworkers)"
                f" written in {time.monotonic() - began:.1f} s"
            )
            await wait_for_web(web, base_url)
            people = await self.sign_in(
                base_url, synthetic.sample_users(scale.inbox_users)
            )
            try:
                view = await inbox_view(people, self.report, kind)
                small = await self.load(kind, view, people, synthetic.rows)
                began = time.monotonic()
                synthetic.grow(scale.rows_large)
                self.report.note(
                    f"{kind}: grown to {synthetic.rows} task rows in"
                    f" {time.monotonic() - began:.1f} s"
                )
                large = await self.load(kind, view, people, synthetic.rows)
            finally:
                for person in people:
                    await person.close()
            web.check()
        finally:
            writer.close()
            database.dispose()
        return small, large

    async def load(
        self,
        kind: str,
        view: Callable[[Person], Awaitable[None]],
        people: list[Person],
        rows: int,
    ) -> float:
        scale = self.scale
        # One view at a time, each person once (also warms the caches): the
        # service time, which says how many views a second one process serves.
        alone = []
        for person in people:
            began = time.monotonic()
            await view(person)
            alone.append((time.monotonic() - began) * 1000)

        async def request(index: int) -> None:
            await view(people[index % len(people)])

        latencies = await drive.open_loop(
            request, scale.inbox_rate, scale.inbox_seconds
        )
        if latencies.errors:
            self.report.note(
                f"{kind} {rows} rows: {len(latencies.errors)} failed views,"
                f" e.g. {latencies.errors[0]}"
            )
            if len(latencies.errors) > len(latencies.millis) / 100:
                raise drive.DriveError(f"{len(latencies.errors)} inbox views failed")
        p95 = latencies.percentile(95)
        service = median(alone)
        self.report.note(
            f"{kind} {rows} rows: one view at a time {service:.1f} ms (median of"
            f" {len(alone)}: at most {1000 / service:.0f} views/s from each of"
            f" {WEB_PROCESSES} web processes);"
            f" {len(latencies.millis)} views at {scale.inbox_rate:g}/s: p50"
            f" {latencies.percentile(50):.1f} ms, p95 {p95:.1f} ms, p99"
            f" {latencies.percentile(99):.1f} ms, max"
            f" {max(latencies.millis, default=0):.1f} ms"
            + (
                f"; {latencies.unfinished} still unanswered when the load ended,"
                " counted with their wait so far"
                if latencies.unfinished
                else ""
            )
        )
        self.service_ms[(kind, rows)] = service
        target = Target("<", 100) if rows >= scale.rows_large else None
        self.report.add(
            Figure(f"inbox_p95_ms_{kind}_{size_label(rows)}", p95, "ms", target)
        )
        return p95


async def inbox_view(
    people: list[Person], report: Report, kind: str
) -> Callable[[Person], Awaitable[None]]:
    """GET /inbox where the app has it; else the two inbox queries at once."""
    probe = await people[0].get("/inbox", headers={"Accept": "text/html"})
    if probe.status_code == 200:
        report.note(f"{kind}: the inbox view is GET /inbox")

        async def page(person: Person) -> None:
            response = await person.get("/inbox", headers={"Accept": "text/html"})
            if response.status_code != 200:
                raise drive.DriveError(f"GET /inbox: HTTP {response.status_code}")

        return page

    sizes: list[int] = []

    async def api(person: Person) -> None:
        mine, group = await asyncio.gather(
            person.get("/api/tasks", params={"scope": "mine"}),
            person.get("/api/tasks", params={"scope": "group"}),
        )
        totals = 0
        for response in (mine, group):
            totals += int(drive.expect(response, 200, "inbox")["total"])
        sizes.append(totals)

    for person in people:
        await api(person)
    report.note(
        f"{kind}: no GET /inbox yet (HTTP {probe.status_code}); a view is GET"
        " /api/tasks?scope=mine and ?scope=group sent together; rows per inbox:"
        f" median {median(sizes):.0f}, min {min(sizes)}, max {max(sizes)}"
    )
    return api


async def run(scale: Scale, folder: Path, groups: set[str]) -> Report:
    report = Report(scale=scale.name)
    runner = Run(scale, folder, report)
    if groups & {"cases", "registrations", "burst"}:
        try:
            await runner.temporal_figures(groups)
        except Exception as error:
            traceback.print_exc()
            report.fail("temporal stack", f"{type(error).__name__}: {error}")
    for kind in ("sqlite", "postgres"):
        if f"inbox-{kind}" in groups:
            await runner.guarded(f"inbox-{kind}", runner.inbox(kind))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench.json")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"some of {', '.join(GROUPS)}"
    )
    args = parser.parse_args(argv)
    scale = SCALES[args.scale] if args.scale else default_scale()
    groups = {group.strip() for group in args.only.split(",") if group.strip()}
    unknown = groups.difference(GROUPS)
    if unknown:
        parser.error(f"unknown groups: {', '.join(sorted(unknown))}")
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    print(f"# bench scale {scale.name}; logs in {args.work / 'logs'}", flush=True)
    began = time.monotonic()
    report = asyncio.run(run(scale, args.work, groups))
    seconds = time.monotonic() - began
    report.note(f"the run took {seconds:.0f} s")
    report.write(args.out, seconds)
    print(report.summary(), flush=True)
    return 0 if report.ok else 1
