"""Replay the committed histories of real runs against today's workflow code.

Every file in tests/workflows/histories/ is the history of a representative
run: a complaint handled directly, not accepted, sent to discipline inspection,
held and reopened by new clues, transferred, extended, refused an extension,
deliberated, escalated rung by rung, moved by a calendar change (and the
calendar rollout that signalled it), completed by two people at once, and
worked on by a worker that was restarted mid-case. Cases started on older
code are still running in production; when the code makes different
decisions on their histories, the worker fails their workflow tasks and the
cases stop.

So a change to workflow code that makes one of these tests fail must not be
"fixed" by recording the histories again. Put the new behaviour behind
`workflow.patched("<change-id>")` (old runs take the old branch, new runs the
new one), keep the old histories, and record new ones beside them; the
`deprecate_patch` / removal steps follow once no run of the old code is left.

The histories are recorded by the scenario tests themselves:

    WUYE_RECORD_HISTORIES=1 .venv/bin/pytest tests/workflows

They carry ids, codes and dates, never the complainant's personal data; the
tests here check that too.
"""

import gc
import logging
import os

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.workflows.complaint_helpers import (
    COMPLAINANT_NAME,
    COMPLAINANT_PHONE,
    HISTORIES,
    RECORD_HISTORIES,
    readable_history,
)
from workflows.calendar_rollout import CalendarRolloutWorkflow
from workflows.complaint import ComplaintWorkflow
from workflows.payloads import DATA_CONVERTER
from wuye.worker import SANDBOXED_RUNNER

pytestmark = pytest.mark.skipif(
    os.environ.get(RECORD_HISTORIES) == "1",
    reason="this run records the histories; the next one replays them",
)

EXPECTED = {
    "calendar_changed",
    "calendar_rollout",
    "completed_twice_at_once",
    "deliberation",
    "discipline",
    "escalations_fired",
    "extension_approved",
    "extension_refused",
    "handled_directly",
    "held_then_clues",
    "not_accepted",
    "transferred",
    "worker_restarted",
}
# Histories recorded before a patched change, kept to replay its old branch:
# the folder is named after what the old code did.
EARLIER = {
    # Before `escalation-clock`: a timer of its own for each task's ladder.
    "ladder-per-task",
}
# name -> the history's JSON, read once when the module is collected; the
# histories of the current code at the top, earlier ones under their folder.
RECORDED = {
    path.relative_to(HISTORIES).with_suffix("").as_posix(): path.read_text(
        encoding="utf-8"
    )
    for path in sorted(HISTORIES.glob("**/*.json"))
}


def test_replay_histories_cover_every_representative_run() -> None:
    assert set(RECORDED) >= EXPECTED
    for earlier in EARLIER:
        assert {f"{earlier}/{name}" for name in EXPECTED} <= set(RECORDED)


def replayer() -> Replayer:
    # In the sandbox, which also refuses what workflow code must not touch.
    return Replayer(
        workflows=[ComplaintWorkflow, CalendarRolloutWorkflow],
        workflow_runner=SANDBOXED_RUNNER,
        data_converter=DATA_CONVERTER,
    )


@pytest.mark.parametrize("name", sorted(RECORDED))
async def test_replay_history_with_current_code_is_deterministic(name: str) -> None:
    history = WorkflowHistory.from_json(name, RECORDED[name])

    # Raises on non-determinism (and on any other workflow task failure).
    result = await replayer().replay_workflow(history)

    assert result.replay_failure is None


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_replay_history_holds_no_personal_data(name: str) -> None:
    text = readable_history(RECORDED[name])

    assert COMPLAINANT_NAME not in text
    assert COMPLAINANT_PHONE not in text


async def test_replay_leaves_no_escalation_ladder_failure_unread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # In this run a task was completed while its ladder was firing a rung:
    # the ladder ends with that activity's cancellation, which is expected
    # and must not reach the worker's log as an error nobody read.
    history = WorkflowHistory.from_json(
        "h", RECORDED["ladder-per-task/handled_directly"]
    )

    with caplog.at_level(logging.ERROR):
        await replayer().replay_workflow(history)
        gc.collect()  # an unread task failure is reported when it is collected

    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
