"""The bare Temporal workflows the API is measured against.

`BareCaseWorkflow` has the shape of a complaint handled to the archive with
none of its work: the same five Updates, each returning once the workflow has
run the activities that follow it, and the same 14 activities, which do
nothing. `TrivialWorkflow` is what a bare start starts.

Run a worker for them with `python -m bench.bare --address HOST:PORT --queue Q`.
"""

import argparse
import asyncio
import signal
from collections.abc import Callable
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

# What the complaint workflow runs between the Updates (workflows/complaint.py,
# handled to the archive): before the first, record_case + open_task; after
# accept, close_task + record_case x2 + open_task; after investigate, verify and
# feedback, close_task + open_task; after archive, close_task + record_case.
ACTIVITIES_AFTER = (2, 4, 2, 2, 2, 2)
UPDATES = len(ACTIVITIES_AFTER) - 1
TIMEOUT = timedelta(seconds=30)


@activity.defn(name="bare_step")
async def bare_step(label: str) -> None:
    """Does nothing: the cost of an activity is all Temporal's."""


@workflow.defn
class BareCaseWorkflow:
    def __init__(self) -> None:
        self.received = 0
        self.parked = 0

    @workflow.run
    async def run(self, case: str) -> int:
        for index, activities in enumerate(ACTIVITIES_AFTER):
            if index > 0:
                await workflow.wait_condition(self._received(index))
            for number in range(activities):
                await workflow.execute_activity(
                    bare_step,
                    f"{case}/{index}/{number}",
                    start_to_close_timeout=TIMEOUT,
                )
            self.parked += 1
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.parked

    def _received(self, count: int) -> Callable[[], bool]:
        return lambda: self.received >= count

    @workflow.update
    async def complete(self, step: int) -> int:
        # Like a task's completion: taken once the step is open, and answered
        # when the workflow has acted on it and parked again.
        await workflow.wait_condition(lambda: self.parked > step)
        self.received += 1
        await workflow.wait_condition(lambda: self.parked > step + 1)
        return self.parked

    @complete.validator
    def _validate(self, step: int) -> None:
        if step != self.received or not 0 <= step < UPDATES:
            raise ValueError(f"step {step} is not the next one")


@workflow.defn
class TrivialWorkflow:
    @workflow.run
    async def run(self, case: str) -> str:
        return case


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address, namespace="default")
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareCaseWorkflow, TrivialWorkflow],
        activities=[bare_step],
        # The application's workers run workflows unsandboxed (wuye/worker.py);
        # the baseline does too, so the sandbox's cost is on neither side.
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--queue", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.queue))


if __name__ == "__main__":
    main()
