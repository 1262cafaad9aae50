"""Engines and sessions for the read model, on SQLite or PostgreSQL."""

import asyncio
import fcntl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from wuye.settings import get_settings

T = TypeVar("T")

# How long a writer waits for SQLite's write lock before it gives up.
BUSY_TIMEOUT_S = 30


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while one writer commits; the busy timeout makes
    # a second writer wait its turn instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, Exception("database is locked"))


class WriterTurn:
    """One SQLite writer at a time, handed over without SQLite's sleeps.

    SQLite lets one transaction write at a time, and a writer that finds the
    lock taken sleeps in SQLite's busy handler in steps of up to 100 ms: under
    load, writers sleep while the lock is free. So writers take their turn
    here first, threads of one process on a lock and processes (web workers,
    the Temporal worker) on an advisory lock of a file beside the database.
    Either wait is bounded like SQLite's own.
    """

    def __init__(self, database_file: Path | None) -> None:
        self._threads = threading.Lock()
        # The thread that took the turn with `take_if_free`, if any.
        self._taken_by: int | None = None
        self._path = Path(f"{database_file}.writer") if database_file else None
        self._file: BinaryIO | None = None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if self._taken_by == threading.get_ident():
            # Inside work that took the turn for all its transactions.
            yield
            return
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        # A plain lock, not an RLock: a web request's session may be opened
        # and closed by different threads of the pool.
        if not self._threads.acquire(timeout=BUSY_TIMEOUT_S):
            raise _locked()
        try:
            if self._path is None:
                yield
                return
            if self._file is None:
                self._file = self._path.open("ab")
            self._take_file(self._file, deadline)
            try:
                yield
            finally:
                fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def take_if_free(self) -> bool:
        """Take the turn for this thread's next transactions, if nobody has it."""
        if not self._threads.acquire(blocking=False):
            return False
        if self._path is not None:
            if self._file is None:
                self._file = self._path.open("ab")
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._threads.release()
                return False
        self._taken_by = threading.get_ident()
        return True

    def give_back(self) -> None:
        self._taken_by = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._threads.release()

    @staticmethod
    def _take_file(file: BinaryIO, deadline: float) -> None:
        pause = 0.0002
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _locked() from None
                time.sleep(pause)
                pause = min(pause * 2, 0.002)

    def close(self) -> None:
        with self._threads:
            if self._file is not None:
                self._file.close()
                self._file = None


class Database:
    """The read model's engines: one for reading, one for writing.

    On SQLite a write transaction must take the write lock when it begins
    (`BEGIN IMMEDIATE`); a deferred one that read first would fail when
    another writer committed in between. Reads stay deferred so they never
    queue behind writers, and writers take turns (`WriterTurn`). PostgreSQL
    needs no such care: both are one engine.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = make_url(url).database
            database_file = None
            if database and database != ":memory:":
                database_file = Path(database)
                database_file.parent.mkdir(parents=True, exist_ok=True)
            self.reader = self._sqlite_engine(url, immediate=False)
            self.writer = self._sqlite_engine(url, immediate=True)
            self._turn: WriterTurn | None = WriterTurn(database_file)
        else:
            self._turn = None
            self.reader = self.writer = create_engine(
                url, pool_pre_ping=True, pool_size=10, max_overflow=20
            )

    @staticmethod
    def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _manual_transactions(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's BEGIN below be the only one sent.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; anything it changes is rolled back."""
        with Session(self.reader) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session that commits when the block ends without an error."""
        with self._writers_turn(), Session(self.writer) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run blocking read-model work from async code.

        On PostgreSQL the work waits on the network, so it goes to a thread.
        On SQLite it is CPU work in this process, which a thread would only
        make dearer: a hop there and back and a fight for the GIL with the
        event loop. So it runs right here when it need not wait: when the
        writer's turn is free it takes it for the whole work, and otherwise
        the work goes to a thread to wait there.
        """
        if self._turn is not None and self._turn.take_if_free():
            try:
                return work(*args)
            finally:
                self._turn.give_back()
        return await asyncio.to_thread(work, *args)

    async def run_reading(self, work: Callable[..., T], *args: Any) -> T:
        """`run` for work that only reads: on SQLite it never waits for a lock.

        Readers of a WAL database go on beside the writer, so on SQLite
        the work runs right here, without the writer's turn.
        """
        if self.is_sqlite:
            return work(*args)
        return await asyncio.to_thread(work, *args)

    @contextmanager
    def _writers_turn(self) -> Iterator[None]:
        if self._turn is None:
            yield
        else:
            with self._turn():
                yield

    def dispose(self) -> None:
        if self._turn is not None:
            self._turn.close()
        self.reader.dispose()
        if self.writer is not self.reader:
            self.writer.dispose()


@lru_cache
def get_database() -> Database:
    """The database named by the settings, opened once per process."""
    return Database(get_settings().database_url)
