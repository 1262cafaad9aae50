"""Read-model work sent from async code: it waits its turn and loses nothing."""

import asyncio
import threading
import time

import pytest
from sqlmodel import col, select

from store.db import Database
from store.models import CaseSequence


def _add_sequence(database: Database, year: int) -> int:
    with database.write() as session:
        session.add(CaseSequence(prefix="DB", year=year, last=0))
    return year


def _years(database: Database) -> list[int]:
    with database.read() as session:
        rows = session.exec(
            select(CaseSequence.year).where(col(CaseSequence.prefix) == "DB")
        ).all()
    return sorted(rows)


async def test_a_write_waits_for_another_writer_while_the_loop_runs_on(
    any_database: Database,
) -> None:
    inside = threading.Event()
    let_go = threading.Event()

    def slow_writer() -> None:
        with any_database.write() as session:
            session.add(CaseSequence(prefix="DB", year=1901, last=0))
            session.flush()
            inside.set()
            let_go.wait(timeout=10)

    holder = threading.Thread(target=slow_writer)
    holder.start()
    try:
        assert await asyncio.to_thread(inside.wait, 10)
        waiting = asyncio.create_task(
            any_database.run(_add_sequence, any_database, 1902)
        )
        # The waiting write is not holding up the event loop: other requests
        # are answered meanwhile (the holder would let go only after 10 s).
        started = time.monotonic()
        for _ in range(5):
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 5
        if any_database.is_sqlite:
            # SQLite has one writer at a time: this one waits for the holder.
            assert not waiting.done()
        else:
            # PostgreSQL locks rows, and the two writers touch different ones.
            assert await asyncio.wait_for(waiting, 10) == 1902
        let_go.set()
        assert await asyncio.wait_for(waiting, 10) == 1902
    finally:
        let_go.set()
        holder.join(timeout=10)

    assert _years(any_database) == [1901, 1902]


async def test_work_with_several_transactions_commits_each_and_frees_the_turn(
    any_database: Database,
) -> None:
    def two_then_a_failure() -> None:
        _add_sequence(any_database, 1911)
        _add_sequence(any_database, 1912)
        with any_database.write() as session:
            session.add(CaseSequence(prefix="DB", year=1913, last=0))
            session.flush()
            raise RuntimeError("the third one fails")

    with pytest.raises(RuntimeError):
        await any_database.run(two_then_a_failure)

    # The failure gave the turn back: a writer on another thread gets it.
    written = await asyncio.wait_for(
        asyncio.to_thread(_add_sequence, any_database, 1914), 10
    )
    assert written == 1914
    assert _years(any_database) == [1911, 1912, 1914]
    assert await any_database.run_reading(_years, any_database) == [1911, 1912, 1914]
