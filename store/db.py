"""Engines and sessions for the read model, on SQLite or PostgreSQL."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from threading import Lock
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from wuye.settings import get_settings

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


class Database:
    """The read model's engines: one for reading, one for writing.

    On SQLite a write transaction must take the write lock when it begins
    (`BEGIN IMMEDIATE`); a deferred one that read first would fail when
    another writer committed in between. Reads stay deferred so they never
    queue behind writers. PostgreSQL needs no such care: both are one engine.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.reader = self._sqlite_engine(url, immediate=False)
            self.writer = self._sqlite_engine(url, immediate=True)
            self._turn: Lock | None = Lock()
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

    @contextmanager
    def _writers_turn(self) -> Iterator[None]:
        if self._turn is None:
            yield
            return
        # A plain lock, not an RLock: a web request's session may be opened
        # and closed by different threads of the pool. The wait is bounded
        # like SQLite's own busy timeout.
        if not self._turn.acquire(timeout=BUSY_TIMEOUT_S):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, Exception("database is locked")
            )
        try:
            yield
        finally:
            self._turn.release()

    def dispose(self) -> None:
        self.reader.dispose()
        if self.writer is not self.reader:
            self.writer.dispose()


@lru_cache
def get_database() -> Database:
    """The database named by the settings, opened once per process."""
    return Database(get_settings().database_url)
