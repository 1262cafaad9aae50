"""The application's payload converter writes and reads what the SDK's does."""

import dataclasses
import inspect
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.converter import DataConverter

from workflows import calendar_rollout, calendar_watch, complaint, human_tasks
from workflows.human_tasks import RungTime, TaskPlan
from workflows.payloads import DATA_CONVERTER

PAYLOADS = sorted(
    {
        member
        for module in (complaint, human_tasks, calendar_rollout, calendar_watch)
        for _name, member in inspect.getmembers(module, dataclasses.is_dataclass)
        if isinstance(member, type)
        and member.__module__ == module.__name__
        # What the workflows keep for themselves, never a payload.
        and not member.__name__.startswith("_")
    },
    key=lambda cls: cls.__name__,
)
SDK = DataConverter.default.payload_converter
APP = DATA_CONVERTER.payload_converter
# Instants as the workflows carry them: aware, in UTC.
st.register_type_strategy(datetime, st.datetimes(timezones=st.just(UTC)))


def test_every_payload_dataclass_is_checked() -> None:
    names = {cls.__name__ for cls in PAYLOADS}
    assert {"OpenTaskInput", "TaskPlan", "CompleteTaskInput", "CaseRecordInput"} <= (
        names
    )


@pytest.mark.parametrize("cls", PAYLOADS, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_same_bytes_and_same_value_both_ways(cls: type, data: Any) -> None:
    value = data.draw(st.builds(cls))

    ours = APP.to_payloads([value])
    theirs = SDK.to_payloads([value])

    assert [p.data for p in ours] == [p.data for p in theirs]
    assert APP.from_payloads(theirs, [cls]) == SDK.from_payloads(theirs, [cls])
    assert APP.from_payloads(ours, [cls]) == [value]


def test_nested_plan_reads_back_with_its_instants() -> None:
    plan = TaskPlan(
        task_id="TS-2026-000001/accept/1",
        due_at=datetime(2026, 12, 11, 16, 0, tzinfo=UTC),
        rungs=[RungTime(rung="reminder", at=datetime(2026, 12, 9, 1, 0, tzinfo=UTC))],
    )

    (read,) = APP.from_payloads(APP.to_payloads([plan]), [TaskPlan])

    assert read == plan
    assert isinstance(read.rungs[0], RungTime)
    assert read.rungs[0].at.tzinfo is not None
