"""Read-model databases for the run: migrated, seeded, and bulk-filled.

The inbox figure needs 100,000 and 1,000,000 task rows. They are written
straight into the tables (executemany in large transactions on SQLite, COPY
on PostgreSQL), every column named by the models, so that a column added
later with a default is filled and one without fails loudly here.
"""

import json
import random
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import psycopg
from sqlalchemy import Integer, Table, create_engine, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlmodel import select

from domain.complaints import Category
from domain.deadlines import SHANGHAI
from store.calendars import import_packaged_schedules
from store.db import Database
from store.migrate import upgrade
from store.models import (
    Case,
    CaseSequence,
    Compound,
    Deadline,
    Organisation,
    OrgKind,
    Role,
    Task,
    User,
)
from wuye.seed import seed

DEMO_OFFICE = "S1"  # 和平街道: the demo caseworkers' street office
CATEGORIES = [category.value for category in Category]


def migrated(url: str) -> Database:
    """A database at the newest schema with the calendars and the demo data."""
    database = Database(url)
    upgrade(database.writer)
    with database.write() as session:
        import_packaged_schedules(session)
        seed(session)
    return database


def number_cases_from(database: Database, last: int) -> None:
    """Case numbers (and so workflow ids) of this database start after `last`.

    Two databases on one Temporal server must not hand out the same case
    number: the second registration would join the first one's workflow.
    """
    with database.write() as session:
        for year in range(2024, 2036):
            session.add(CaseSequence(prefix="TS", year=year, last=last))


def add_caseworkers(database: Database, count: int, prefix: str) -> list[str]:
    """Caseworkers of the demo street office, with the demo password."""
    with database.write() as session:
        office = session.exec(
            select(Organisation).where(Organisation.code == DEMO_OFFICE)
        ).one()
        demo = session.exec(select(User).where(User.username == "wang")).one()
        names = [f"{prefix}{number:03d}" for number in range(count)]
        for name in names:
            session.add(
                User(
                    username=name,
                    display_name=f"测试{name}",
                    email=f"{name}@example.org",
                    password_hash=demo.password_hash,
                    role=Role.CASEWORKER,
                    organisation_id=office.id or 0,
                )
            )
    return names


def demo_compounds(database: Database) -> list[int]:
    """The compounds of the demo street office, where registrations go."""
    with database.read() as session:
        office = session.exec(
            select(Organisation).where(Organisation.code == DEMO_OFFICE)
        ).one()
        return [
            compound.id
            for compound in session.exec(
                select(Compound).where(Compound.street_id == office.id)
            )
            if compound.id is not None
        ]


# -- PostgreSQL databases of the run -------------------------------------------


def create_postgres(admin_url: str) -> str:
    """A new, empty database on the server of `admin_url`; returns its URL."""
    name = f"wuye_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# -- bulk writing --------------------------------------------------------------


class RowMaker:
    """Rows of one table as the driver takes them, every column in order.

    Constant columns are filled and converted once; the varying ones are
    converted per value (memoised: the generated values repeat a lot). A
    column left out gets its scalar default or NULL; one that has neither
    (a new NOT NULL column) stops the run here, by name.
    """

    def __init__(
        self,
        writer: "BulkWriter",
        table: Table,
        constants: dict[str, Any],
        varying: list[str],
    ) -> None:
        self.table = table
        self.names = [column.name for column in table.columns]
        unknown = (set(constants) | set(varying)).difference(self.names)
        if unknown:
            raise KeyError(f"{table.name} has no column {', '.join(sorted(unknown))}")
        template: list[Any] = []
        for column in table.columns:
            name = column.name
            if name in varying:
                value = None
            elif name in constants:
                value = constants[name]
            elif column.default is not None and getattr(
                column.default, "is_scalar", False
            ):
                value = getattr(column.default, "arg", None)
            elif column.nullable or column.autoincrement is True:
                value = None
            else:
                raise KeyError(
                    f"bench/readmodel.py gives no value for {table.name}.{name}"
                    " (a new column without a default?)"
                )
            template.append(writer.converter(table, name)(value))
        self.template = template
        self.slots = [
            (self.names.index(name), writer.converter(table, name)) for name in varying
        ]
        self.varying = {name: number for number, name in enumerate(varying)}

    def __call__(self, *values: Any) -> list[Any]:
        row = self.template.copy()
        for (index, convert), value in zip(self.slots, values, strict=True):
            row[index] = convert(value)
        return row

    def raw(self, *values: Any) -> list[Any]:
        """A row of values converted already (see `convert`)."""
        row = self.template.copy()
        for (index, _convert), value in zip(self.slots, values, strict=True):
            row[index] = value
        return row

    def convert(self, name: str, value: Any) -> Any:
        return self.slots[self.varying[name]][1](value)


class BulkWriter:
    """Writes rows fast, bypassing the ORM: executemany or COPY."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._converters: dict[tuple[str, str], Callable[[Any], Any]] = {}
        if self.is_sqlite:
            self._sqlite = sqlite3.connect(
                self.url.database or "", isolation_level=None
            )
            # Only this loading connection: the app's have their own pragmas.
            self._sqlite.execute("PRAGMA synchronous=OFF")
            self._sqlite.execute("PRAGMA cache_size=-262144")
            self._sqlite.execute("PRAGMA foreign_keys=OFF")
        else:
            conninfo = self.url.set(drivername="postgresql").render_as_string(
                hide_password=False
            )
            self._postgres = psycopg.connect(conninfo, autocommit=False)
            with self._postgres.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
                # The rows are consistent by construction: skip the per-row
                # foreign-key triggers, as a restore does (needs a superuser,
                # as the local server's trust login is; else they run).
                try:
                    cursor.execute("SET session_replication_role = replica")
                except psycopg.Error:
                    self._postgres.rollback()
            self._postgres.commit()

    def close(self) -> None:
        if self.is_sqlite:
            self._sqlite.close()
        else:
            self._postgres.close()

    def converter(self, table: Table, name: str) -> Callable[[Any], Any]:
        """What SQLAlchemy would send for the column's values, memoised.

        On SQLite dates, instants and booleans are stored as the column types
        render them; on PostgreSQL dates and instants go as ISO text.
        """
        key = (table.name, name)
        if key in self._converters:
            return self._converters[key]
        processor: Callable[[Any], Any] | None = None
        if self.is_sqlite:
            dialect = sqlite_dialect.dialect()
            processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        elif _python_type(table, name) in (date, datetime):
            # Text that COPY parses, once per value, rather than each time.
            processor = _isoformat
        if processor is None:
            convert: Callable[[Any], Any] = _same
        else:
            cache: dict[Any, Any] = {}
            process = processor

            def convert(value: Any) -> Any:
                if value is None:
                    return None
                found = cache.get(value)
                if found is None:
                    found = cache[value] = process(value)
                return found

        self._converters[key] = convert
        return convert

    def maker(
        self, table: Table, constants: dict[str, Any], varying: list[str]
    ) -> RowMaker:
        return RowMaker(self, table, constants, varying)

    def insert_dicts(self, table: Table, rows: list[dict[str, Any]]) -> int:
        """Rows given as dicts, all with the same keys."""
        if not rows:
            return 0
        keys = list(rows[0])
        make = self.maker(table, {}, keys)
        return self.insert(table, [make(*(row[key] for key in keys)) for row in rows])

    def insert(self, table: Table, rows: Iterable[list[Any]]) -> int:
        """Rows made by a `RowMaker` of this table."""
        names = ", ".join(f'"{column.name}"' for column in table.columns)
        if self.is_sqlite:
            marks = ", ".join("?" for _ in table.columns)
            statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
            batch = list(rows)
            self._sqlite.execute("BEGIN IMMEDIATE")
            try:
                self._sqlite.executemany(statement, batch)
                self._sqlite.execute("COMMIT")
            except BaseException:
                self._sqlite.execute("ROLLBACK")
                raise
            return len(batch)
        count = 0
        with (
            self._postgres.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        self._postgres.commit()
        return count

    @contextmanager
    def without_indexes(self, tables: list[Table]) -> Iterator[None]:
        """Drop the tables' secondary indexes, load, and build them again.

        Building an index once over a million rows is much faster than
        keeping it up to date row by row. The indexes come back from their
        own definitions, as the migrations made them; those behind a primary
        key or unique constraint stay throughout.
        """
        names = [table.name for table in tables]
        if self.is_sqlite:
            marks = ", ".join("?" for _ in names)
            found = self._sqlite.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                f" AND sql IS NOT NULL AND tbl_name IN ({marks})",
                names,
            ).fetchall()
            for name, _sql in found:
                self._sqlite.execute(f'DROP INDEX "{name}"')
            try:
                yield
            finally:
                for _name, sql in found:
                    self._sqlite.execute(sql)
            return
        with self._postgres.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = 'public' AND tablename = ANY(%s)"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                (names,),
            )
            found = cursor.fetchall()
            for name, _sql in found:
                cursor.execute(f'DROP INDEX "{name}"')
        self._postgres.commit()
        try:
            yield
        finally:
            with self._postgres.cursor() as cursor:
                for _name, sql in found:
                    cursor.execute(sql)
            self._postgres.commit()

    def finish(self, tables: list[Table]) -> None:
        """After loading: sequences past the ids given, and fresh statistics."""
        if self.is_sqlite:
            return
        with self._postgres.cursor() as cursor:
            for table in tables:
                if "id" in table.c and isinstance(table.c["id"].type, Integer):
                    name = table.name
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'),"
                        f' (SELECT coalesce(max(id), 1) FROM "{name}"))'
                    )
        self._postgres.commit()
        # As autovacuum would after a load this size; the planner needs it.
        self._postgres.autocommit = True
        with self._postgres.cursor() as cursor:
            cursor.execute("ANALYZE")
        self._postgres.autocommit = False


def _same(value: Any) -> Any:
    return value


def _isoformat(value: date) -> str:
    return value.isoformat()


def _python_type(table: Table, name: str) -> type | None:
    try:
        kind: type = table.c[name].type.python_type
    except NotImplementedError:
        return None
    return kind


# -- synthetic organisations, users, cases, tasks and deadlines -----------------

ORG = Organisation.__table__  # type: ignore[attr-defined]
USER = User.__table__  # type: ignore[attr-defined]
COMPOUND = Compound.__table__  # type: ignore[attr-defined]
CASE = Case.__table__  # type: ignore[attr-defined]
DEADLINE = Deadline.__table__  # type: ignore[attr-defined]
TASK = Task.__table__  # type: ignore[attr-defined]

STEPS = ("accept", "investigate", "verify", "feedback", "archive")
LIVE_STEPS = ("accept", "investigate", "verify", "feedback")
CASEWORKERS_PER_OFFICE = 10
MINE = (4, 20)  # claimed tasks each caseworker holds
GROUP = (10, 50)  # unclaimed tasks in each office's queue
OFFICES_PER_DISTRICT = 20
COMPANIES = 20
BATCH = 100_000  # task rows per transaction
DONE_RECORD = json.dumps({"note": "已处理"}, ensure_ascii=False)


def end_of_day_utc(day: date) -> datetime:
    """24:00 Asia/Shanghai of `day`, as the deadlines store it."""
    return datetime.combine(day + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)


@dataclass
class Office:
    id: int
    caseworkers: list[int]
    compounds: list[int]
    company_ids: list[int]


class Makers:
    """The row makers of the three big tables."""

    CASE: ClassVar[tuple[str, ...]] = (
        "id",
        "ref",
        "organisation_id",
        "company_id",
        "compound_id",
        "category",
        "status",
        "registered_at",
        "closed_at",
    )
    DEADLINE: ClassVar[tuple[str, ...]] = (
        "id",
        "key",
        "case_ref",
        "organisation_id",
        "start_date",
        "due_date",
        "due_at",
        "original_due_date",
        "status",
        "created_at",
    )
    TASK: ClassVar[tuple[str, ...]] = (
        "id",
        "case_id",
        "case_ref",
        "step",
        "candidate_org_id",
        "assignee_id",
        "status",
        "version",
        "deadline_id",
        "due_at",
        "created_at",
        "claimed_at",
        "completed_at",
        "completed_by",
        "outcome",
        "record",
    )

    def __init__(self, writer: BulkWriter) -> None:
        self.case = writer.maker(
            CASE,
            {
                "procedure": "complaint",
                "channel": "phone",
                "facts": "基准数据：楼道照明损坏，多次报修未果。",
                "clues": "",
                "repeat_of": "",
                "extension_days": 0,
                "deliberation": False,
            },
            list(self.CASE),
        )
        self.deadline = writer.maker(
            DEADLINE,
            {
                "subject": "acceptance",
                "kind": "working_days",
                "amount": 7,
                "basis": "art. 76",
                "provisional": False,
                "calendar_version": 1,
                "skipped": "[]",
            },
            list(self.DEADLINE),
        )
        self.task = writer.maker(
            TASK,
            {
                "procedure": "complaint",
                "candidate_role": Role.CASEWORKER.value,
                "priority": 0,
            },
            list(self.TASK),
        )


@dataclass
class Synthetic:
    """A province's worth of street offices, filled to a number of task rows.

    Every office has 10 caseworkers; each holds 4-20 claimed tasks and the
    office's queue has 10-50 unclaimed ones (the inboxes people see), and
    the rest of the rows are the completed tasks of closed cases (history):
    growing the table from 100k to 1M rows adds history only, so the same
    users see the same inboxes in a nine times larger table.
    """

    writer: BulkWriter
    today: date
    seed: int = 7
    offices: list[Office] = field(default_factory=list)
    usernames: dict[int, str] = field(default_factory=dict)
    next_case: int = 0
    next_deadline: int = 0
    rows: int = 0
    live: int = 0

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)
        self.makers = Makers(self.writer)
        self._days: dict[date, dict[str, Any]] = {}
        self._dues: dict[date, tuple[Any, Any, Any]] = {}

    def populate(self, database: Database, offices: int, rows: int) -> None:
        """The offices and their people, everyone's inbox, history up to `rows`."""
        with self.writer.without_indexes([CASE, DEADLINE, TASK]):
            self.build(database, offices)
            self.add_live()
            if rows > self.rows:
                self.add_history(rows - self.rows)
        self.writer.finish([ORG, USER, COMPOUND, CASE, DEADLINE, TASK])

    def grow(self, rows: int) -> None:
        """More history, up to `rows` task rows in all."""
        with self.writer.without_indexes([CASE, DEADLINE, TASK]):
            if rows > self.rows:
                self.add_history(rows - self.rows)
        self.writer.finish([CASE, DEADLINE, TASK])

    def sample_users(self, count: int) -> list[str]:
        """Caseworkers spread over the offices, for the simulated people."""
        chosen = []
        for number in range(count):
            office = self.offices[number * len(self.offices) // count]
            user = office.caseworkers[number % len(office.caseworkers)]
            chosen.append(self.usernames[user])
        return chosen

    # The organisation tree, users and compounds.

    def build(self, database: Database, offices: int) -> None:
        with database.read() as session:
            province = session.exec(
                select(Organisation).where(Organisation.code == "P")
            ).one()
            demo = session.exec(select(User).where(User.username == "wang")).one()
            next_org = _max_id(session, Organisation) + 1
            next_user = _max_id(session, User) + 1
            next_compound = _max_id(session, Compound) + 1
            self.next_case = _max_id(session, Case) + 1
            self.next_deadline = _max_id(session, Deadline) + 1
        orgs: list[dict[str, Any]] = []

        def org(
            kind: OrgKind, code: str, name: str, parent: tuple[int, str]
        ) -> tuple[int, str]:
            nonlocal next_org
            org_id = next_org
            next_org += 1
            path = f"{parent[1]}{org_id}/"
            orgs.append(
                {
                    "id": org_id,
                    "parent_id": parent[0],
                    "kind": kind.value,
                    "code": code,
                    "name": name,
                    "name_en": code,
                    "path": path,
                }
            )
            return org_id, path

        city = org(OrgKind.CITY, "BENCH-C", "基准市", (province.id or 0, province.path))
        companies = [
            org(OrgKind.COMPANY, f"BENCH-CO{n:02d}", f"基准物业{n}", city)[0]
            for n in range(COMPANIES)
        ]
        district = city
        users: list[dict[str, Any]] = []
        compounds: list[dict[str, Any]] = []
        created = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
        for number in range(offices):
            if number % OFFICES_PER_DISTRICT == 0:
                district = org(
                    OrgKind.DISTRICT,
                    f"BENCH-D{number // OFFICES_PER_DISTRICT:03d}",
                    f"基准区{number // OFFICES_PER_DISTRICT}",
                    city,
                )
            street = org(
                OrgKind.STREET, f"BENCH-S{number:04d}", f"基准街道{number}", district
            )
            office = Office(id=street[0], caseworkers=[], compounds=[], company_ids=[])
            for k in range(CASEWORKERS_PER_OFFICE + 1):
                username = f"bench-s{number:04d}-{k:02d}"
                supervisor = k == CASEWORKERS_PER_OFFICE
                role = Role.SUPERVISOR if supervisor else Role.CASEWORKER
                users.append(
                    {
                        "id": next_user,
                        "username": username,
                        "display_name": f"基准{number}-{k}",
                        "email": f"{username}@example.org",
                        "password_hash": demo.password_hash,
                        "role": role.value,
                        "organisation_id": street[0],
                        "is_active": True,
                        "locale": "zh_CN",
                        "created_at": created,
                    }
                )
                if not supervisor:
                    office.caseworkers.append(next_user)
                    self.usernames[next_user] = username
                next_user += 1
            for k in range(2):
                company = companies[(number * 2 + k) % COMPANIES]
                compounds.append(
                    {
                        "id": next_compound,
                        "code": f"BENCH-XQ{number:04d}{k}",
                        "name": f"基准小区{number}-{k}",
                        "street_id": street[0],
                        "company_id": company,
                        "households": 500,
                        "address": "",
                    }
                )
                office.compounds.append(next_compound)
                office.company_ids.append(company)
                next_compound += 1
            self.offices.append(office)
        self.writer.insert_dicts(ORG, orgs)
        self.writer.insert_dicts(USER, users)
        self.writer.insert_dicts(COMPOUND, compounds)

    # Cases, each with its acceptance deadline and its tasks.

    def _day(self, registered: date) -> dict[str, Any]:
        """The converted instants of a case registered on `registered`."""
        found = self._days.get(registered)
        if found is None:
            case, deadline, task = (
                self.makers.case,
                self.makers.deadline,
                self.makers.task,
            )
            at = datetime.combine(registered, time(2, 0), UTC)
            created = [at + timedelta(days=number) for number in range(len(STEPS))]
            found = self._days[registered] = {
                "registered_at": case.convert("registered_at", at),
                "closed_at": case.convert("closed_at", at + timedelta(days=20)),
                "start_date": deadline.convert("start_date", registered),
                "deadline_created": deadline.convert("created_at", at),
                "created": [task.convert("created_at", c) for c in created],
                "claimed": [
                    task.convert("claimed_at", c + timedelta(hours=1)) for c in created
                ],
                "completed": [
                    task.convert("completed_at", c + timedelta(hours=3))
                    for c in created
                ],
            }
        return found

    def _due(self, due: date) -> tuple[Any, Any, Any]:
        """The converted due date, deadline instant and task instant."""
        found = self._dues.get(due)
        if found is None:
            at = end_of_day_utc(due)
            found = self._dues[due] = (
                self.makers.deadline.convert("due_date", due),
                self.makers.deadline.convert("due_at", at),
                self.makers.task.convert("due_at", at),
            )
        return found

    def _case(
        self,
        office: Office,
        registered: date,
        due: date,
        status: str,
        tasks: Sequence[tuple[int, str, int | None]],
        out: "Rows",
    ) -> None:
        """One case; `tasks` are (step number, status, holder)."""
        makers = self.makers
        case_id = self.next_case
        self.next_case += 1
        deadline_id = self.next_deadline
        self.next_deadline += 1
        ref = f"BX-{case_id:09d}"
        which = self.random.randrange(len(office.compounds))
        day = self._day(registered)
        due_date, deadline_due_at, task_due_at = self._due(due)
        closed = status == "closed"
        out.cases.append(
            makers.case.raw(
                case_id,
                ref,
                office.id,
                office.company_ids[which],
                office.compounds[which],
                self.random.choice(CATEGORIES),
                status,
                day["registered_at"],
                day["closed_at"] if closed else None,
            )
        )
        out.deadlines.append(
            makers.deadline.raw(
                deadline_id,
                f"{ref}/acceptance/1",
                ref,
                office.id,
                day["start_date"],
                due_date,
                deadline_due_at,
                due_date,
                "met" if closed else "open",
                day["deadline_created"],
            )
        )
        for number, task_status, holder in tasks:
            step = STEPS[number]
            done = task_status == "completed"
            out.tasks.append(
                makers.task.raw(
                    f"{ref}/{step}/{number + 1}",
                    case_id,
                    ref,
                    step,
                    office.id,
                    holder,
                    task_status,
                    3 if done else (2 if holder else 1),
                    deadline_id,
                    task_due_at,
                    day["created"][number],
                    day["claimed"][number] if holder else None,
                    day["completed"][number] if done else None,
                    holder if done else None,
                    "handle" if done and number == 0 else None,
                    DONE_RECORD if done else "{}",
                )
            )
        if len(out.tasks) >= BATCH:
            self.rows += out.flush(self.writer)

    def add_live(self) -> None:
        """Every caseworker's claimed tasks and every office's queue."""
        out = Rows()
        before = self.rows
        for office in self.offices:
            holders: list[int | None] = []
            for user in office.caseworkers:
                holders.extend([user] * self.random.randint(*MINE))
            holders.extend([None] * self.random.randint(*GROUP))
            for holder in holders:
                registered = self.today - timedelta(days=self.random.randint(0, 40))
                # Some are overdue, most are not; spread over two months.
                due = self.today + timedelta(days=self.random.randint(-3, 60))
                step = STEPS.index(self.random.choice(LIVE_STEPS))
                status = "claimed" if holder else "open"
                case_status = "accepting" if step == 0 else "handling"
                self._case(
                    office, registered, due, case_status, [(step, status, holder)], out
                )
        self.rows += out.flush(self.writer)
        self.live += self.rows - before

    def add_history(self, rows: int) -> None:
        """Closed cases of the past, five completed tasks each, `rows` in all."""
        out = Rows()
        left = rows
        while left > 0:
            office = self.offices[self.random.randrange(len(self.offices))]
            worker = self.random.choice(office.caseworkers)
            registered = self.today - timedelta(days=self.random.randint(60, 1500))
            count = min(len(STEPS), left)
            left -= count
            tasks = [(number, "completed", worker) for number in range(count)]
            due = registered + timedelta(days=9)
            self._case(office, registered, due, "closed", tasks, out)
        self.rows += out.flush(self.writer)


@dataclass
class Rows:
    cases: list[list[Any]] = field(default_factory=list)
    deadlines: list[list[Any]] = field(default_factory=list)
    tasks: list[list[Any]] = field(default_factory=list)

    def flush(self, writer: BulkWriter) -> int:
        writer.insert(CASE, self.cases)
        writer.insert(DEADLINE, self.deadlines)
        count = writer.insert(TASK, self.tasks)
        self.cases, self.deadlines, self.tasks = [], [], []
        return count


def _max_id(session: Any, model: Any) -> int:
    found = session.exec(select(model.id).order_by(model.id.desc()).limit(1)).first()
    return int(found or 0)
