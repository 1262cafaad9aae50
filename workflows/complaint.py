"""The complaint and report procedure (投诉举报), procedures.md §2, art. 74-82.

The workflow id is the case number (TS-2026-000123). Registration starts it;
people drive every later step through Updates sent by the API; timers carry
the deadlines and the escalation ladders. Payloads hold ids, codes and dates:
the complainant's personal data stays in the read model.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import date

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.complaints import (
        ACCEPTANCE,
        HANDLING,
        MAX_EXTENSION_DAYS,
        AcceptanceOutcome,
        CaseStatus,
        RejectionReason,
        Step,
    )
    from domain.deadlines import SHANGHAI
    from workflows.human_tasks import (
        CompleteTaskInput,
        CompleteTaskResult,
        DeadlineRequest,
        HumanTasks,
    )
    from workflows.shared import DATABASE_RETRY, DATABASE_TIMEOUT

PROCEDURE = "complaint"
CASEWORKER = "caseworker"
SUPERVISOR = "supervisor"


@dataclass
class ComplaintInput:
    case_ref: str
    case_id: int
    organisation_id: int  # the street office that handles the case
    registered_on: str  # ISO date of receipt, Asia/Shanghai


@dataclass
class ComplaintResult:
    case_ref: str
    status: str
    outcome: str


@dataclass
class CaseRecordInput:
    """A change of the case as lists and the timeline show it."""

    case_ref: str
    event: str
    dedupe_key: str
    actor_id: int | None = None
    details: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    outcome: str | None = None
    outcome_reason: str | None = None
    transferred_to: int | None = None
    accepted_on: str | None = None
    held: bool | None = None
    closed: bool = False
    # The case went to collective deliberation (集体研判, art. 80).
    deliberation: bool | None = None


@dataclass
class ExtendDeadlineInput:
    case_ref: str
    deadline_key: str
    amount: int  # the whole period with every extension granted so far
    extension_days: int
    actor_id: int
    reason: str


@dataclass
class AddCluesInput:
    """New clues for a held case; their text is in the read model already."""

    actor_id: int
    received_on: str  # ISO date


@dataclass
class ExtensionRequest:
    actor_id: int
    days: int
    reason: str


@dataclass
class DeliberationInput:
    """Collective deliberation (集体研判): recorded; the clock keeps running."""

    actor_id: int
    note: str


@dataclass
class CalendarChanged:
    calendar_version: int


@dataclass
class ComplaintState:
    status: str
    open_tasks: dict[str, str]  # task id -> step
    extension_days: int
    extension_pending: bool


ACCEPT_OUTCOMES = frozenset(o.value for o in AcceptanceOutcome)
DECISIONS = frozenset({"approve", "refuse"})


def complaint_workflow_id(case_ref: str) -> str:
    return case_ref


@workflow.defn
class ComplaintWorkflow:
    """One complaint from registration to the archive."""

    def __init__(self) -> None:
        self.status = CaseStatus.REGISTERED.value
        self.tasks: HumanTasks | None = None
        self.clues: AddCluesInput | None = None
        self.extension_days = 0
        self.extension_pending = False
        self.accepted_on: date | None = None
        self.sequence = 0
        self.side_work: list[asyncio.Task[None]] = []

    # -- state the API asks about -----------------------------------------

    @workflow.query
    def state(self) -> ComplaintState:
        tasks = self.tasks.open if self.tasks else {}
        return ComplaintState(
            status=self.status,
            open_tasks={task_id: task.step for task_id, task in tasks.items()},
            extension_days=self.extension_days,
            extension_pending=self.extension_pending,
        )

    # -- people's actions (Updates) ------------------------------------------

    @workflow.update
    async def complete_task(self, completion: CompleteTaskInput) -> CompleteTaskResult:
        assert self.tasks is not None
        parked = self.tasks.accept(completion)
        # Return once the workflow has acted on it, so the page that sent it
        # shows the next step.
        await workflow.wait_condition(
            lambda: self.tasks is not None and self.tasks.parked > parked
        )
        return CompleteTaskResult(
            task_id=completion.task_id,
            status=self.status,
            open_tasks=sorted(self.tasks.open),
        )

    @complete_task.validator
    def _validate_completion(self, completion: CompleteTaskInput) -> None:
        if self.tasks is None:
            raise ApplicationError("the case is still being registered")
        self.tasks.validate(completion)
        task = self.tasks.open[completion.task_id]
        if (
            task.step == Step.ACCEPT
            and completion.outcome == AcceptanceOutcome.NOT_ACCEPTED
        ):
            reason = completion.record.get("reason", "")
            if reason not in {r.value for r in RejectionReason}:
                raise ApplicationError(
                    "a case not accepted needs one of the five reasons of art. 78",
                    type="InvalidRecord",
                    non_retryable=True,
                )
        if (
            task.step == Step.ACCEPT
            and completion.outcome == AcceptanceOutcome.TRANSFER
            and not completion.record.get("agency_id", "").isdigit()
        ):
            raise ApplicationError(
                "a transfer needs the agency it goes to",
                type="InvalidRecord",
                non_retryable=True,
            )

    @workflow.update
    async def add_clues(self, clues: AddCluesInput) -> str:
        self._check_held()
        self.clues = clues
        assert self.tasks is not None
        parked = self.tasks.parked
        await workflow.wait_condition(
            lambda: self.tasks is not None and self.tasks.parked > parked
        )
        return self.status

    @add_clues.validator
    def _validate_clues(self, clues: AddCluesInput) -> None:
        self._check_held()

    def _check_held(self) -> None:
        if self.status != CaseStatus.HELD or self.clues is not None:
            raise ApplicationError(
                "only a held case takes new clues", type="NotHeld", non_retryable=True
            )

    @workflow.update
    async def request_extension(self, request: ExtensionRequest) -> str:
        self._check_extension(request)
        self.extension_pending = True
        assert self.tasks is not None
        parked = self.tasks.parked
        self.side_work.append(asyncio.create_task(self._extension(request)))
        await workflow.wait_condition(
            lambda: self.tasks is not None and self.tasks.parked > parked
        )
        return self.status

    @request_extension.validator
    def _validate_extension(self, request: ExtensionRequest) -> None:
        self._check_extension(request)

    def _check_extension(self, request: ExtensionRequest) -> None:
        if self.status != CaseStatus.HANDLING:
            raise ApplicationError(
                "only a case being handled can be extended (art. 80)",
                type="NotHandling",
                non_retryable=True,
            )
        if self.extension_pending:
            raise ApplicationError(
                "an extension request is already waiting for approval",
                type="ExtensionPending",
                non_retryable=True,
            )
        total = self.extension_days + request.days
        if request.days < 1 or total > MAX_EXTENSION_DAYS:
            raise ApplicationError(
                f"extensions may total at most {MAX_EXTENSION_DAYS} days (art. 80);"
                f" {self.extension_days} granted already",
                type="ExtensionTooLong",
                non_retryable=True,
            )
        if not request.reason.strip():
            raise ApplicationError(
                "an extension needs a reason", type="InvalidRecord", non_retryable=True
            )

    @workflow.update
    async def record_deliberation(self, deliberation: DeliberationInput) -> str:
        self._check_deliberation()
        await self._record(
            "deliberation.recorded",
            actor_id=deliberation.actor_id,
            details={"note": deliberation.note},
            deliberation=True,
        )
        return self.status

    @record_deliberation.validator
    def _validate_deliberation(self, deliberation: DeliberationInput) -> None:
        self._check_deliberation()

    def _check_deliberation(self) -> None:
        if self.status != CaseStatus.HANDLING:
            raise ApplicationError(
                "deliberation belongs to the handling of a case",
                type="NotHandling",
                non_retryable=True,
            )

    @workflow.signal
    def calendar_changed(self, change: CalendarChanged) -> None:
        if self.tasks is not None:
            self.tasks.calendar_changed()

    # -- the procedure ---------------------------------------------------------

    @workflow.run
    async def run(self, complaint: ComplaintInput) -> ComplaintResult:
        self.complaint = complaint
        self.tasks = HumanTasks(complaint.case_ref, PROCEDURE)
        decision = await self._acceptance(date.fromisoformat(complaint.registered_on))
        outcome = decision.outcome or ""

        if outcome == AcceptanceOutcome.NOT_ACCEPTED:
            # The complainant is told why, and the case is archived (art. 78).
            await self._record(
                "complainant.informed",
                actor_id=decision.actor_id,
                details={"reason": decision.record.get("reason", "")},
            )
        elif outcome == AcceptanceOutcome.DISCIPLINE:
            await self._record(
                "transferred.discipline",
                actor_id=decision.actor_id,
                status=CaseStatus.TRANSFERRED.value,
            )
        elif outcome == AcceptanceOutcome.TRANSFER:
            await self._transfer(int(decision.record["agency_id"]), decision)
        else:
            await self._handle(decision.actor_id)

        await self._close(outcome)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ComplaintResult(complaint.case_ref, self.status, outcome)

    async def _acceptance(self, clock_start: date) -> CompleteTaskInput:
        """Decide acceptance within 7 working days (art. 76); a hold stops it."""
        assert self.tasks is not None
        round_ = 0
        while True:
            round_ += 1
            await self._record(
                "acceptance.opened",
                status=CaseStatus.ACCEPTING.value,
                held=False,
                details={"round": str(round_), "clock_start": clock_start.isoformat()},
            )
            decision = await self.tasks.run(
                step=Step.ACCEPT.value,
                candidate_org_id=self.complaint.organisation_id,
                candidate_role=CASEWORKER,
                outcomes=ACCEPT_OUTCOMES,
                deadline=DeadlineRequest(
                    key=f"{self.complaint.case_ref}/acceptance/{round_}",
                    kind=ACCEPTANCE.kind.value,
                    start=clock_start.isoformat(),
                    amount=ACCEPTANCE.amount,
                    basis=ACCEPTANCE.basis,
                    subject="acceptance",
                ),
            )
            if decision.outcome != AcceptanceOutcome.HOLD:
                await self._record(
                    "acceptance.decided",
                    actor_id=decision.actor_id,
                    outcome=decision.outcome,
                    outcome_reason=decision.record.get("reason"),
                    details={"outcome": decision.outcome or ""},
                )
                return decision
            # Held (暂存待查): the clock stops until new clues arrive, then a
            # fresh 7 working days runs from their receipt.
            self.status = CaseStatus.HELD.value
            await self._record(
                "case.held",
                actor_id=decision.actor_id,
                status=self.status,
                held=True,
            )
            self.tasks.parked += 1
            await workflow.wait_condition(lambda: self.clues is not None)
            assert self.clues is not None
            clock_start = date.fromisoformat(self.clues.received_on)
            await self._record(
                "clues.added",
                actor_id=self.clues.actor_id,
                details={"received_on": self.clues.received_on},
            )
            self.clues = None
            self.status = CaseStatus.ACCEPTING.value

    async def _transfer(self, agency_id: int, decision: CompleteTaskInput) -> None:
        """Transfer to the responsible agency and wait for its reply (art. 77)."""
        assert self.tasks is not None
        self.status = CaseStatus.TRANSFERRED.value
        await self._record(
            "transferred",
            actor_id=decision.actor_id,
            status=self.status,
            transferred_to=agency_id,
            details={"agency_id": str(agency_id)},
        )
        # The agency answers within its own time limits: no deadline here.
        await self.tasks.run(
            step=Step.TRANSFER_REPLY.value,
            candidate_org_id=agency_id,
            candidate_role=CASEWORKER,
        )
        # Back at the office, the caseworker who transferred it carries on.
        feedback = await self.tasks.run(
            step=Step.FEEDBACK.value,
            candidate_org_id=self.complaint.organisation_id,
            candidate_role=CASEWORKER,
            assignee_id=decision.actor_id,
        )
        await self.tasks.run(
            step=Step.ARCHIVE.value,
            candidate_org_id=self.complaint.organisation_id,
            candidate_role=CASEWORKER,
            assignee_id=feedback.actor_id,
        )

    def _handling_deadline(self, extra_days: int = 0) -> DeadlineRequest:
        assert self.accepted_on is not None
        return DeadlineRequest(
            key=f"{self.complaint.case_ref}/handling",
            kind=HANDLING.kind.value,
            start=self.accepted_on.isoformat(),
            amount=HANDLING.amount + extra_days,
            basis=HANDLING.basis,
            subject="handling",
        )

    async def _handle(self, acceptor_id: int) -> None:
        """Handle within 60 days of acceptance, closing the loop (art. 80, 81).

        Each step goes straight to the caseworker who did the one before (the
        acceptance first): the caseworker of the case carries it to the end,
        unless a supervisor reassigns it or they hand it back to the queue.
        """
        assert self.tasks is not None
        self.accepted_on = workflow.now().astimezone(SHANGHAI).date()
        self.status = CaseStatus.HANDLING.value
        await self._record(
            "handling.started",
            status=self.status,
            accepted_on=self.accepted_on.isoformat(),
        )
        carrier = acceptor_id
        for step in (Step.INVESTIGATE, Step.VERIFY, Step.FEEDBACK, Step.ARCHIVE):
            done = await self.tasks.run(
                step=step.value,
                candidate_org_id=self.complaint.organisation_id,
                candidate_role=CASEWORKER,
                deadline=self._handling_deadline(),
                assignee_id=carrier,
            )
            carrier = done.actor_id

    async def _extension(self, request: ExtensionRequest) -> None:
        """A supervisor approves or refuses an extension request (art. 80)."""
        assert self.tasks is not None
        await self._record(
            "extension.requested",
            actor_id=request.actor_id,
            details={"days": str(request.days), "reason": request.reason},
        )
        decision = await self.tasks.run(
            step=Step.APPROVE_EXTENSION.value,
            candidate_org_id=self.complaint.organisation_id,
            candidate_role=SUPERVISOR,
            outcomes=DECISIONS,
            deadline=self._handling_deadline(self.extension_days),
        )
        if decision.outcome == "approve" and self.status == CaseStatus.HANDLING:
            self.extension_days += request.days
            await workflow.execute_activity(
                "extend_deadline",
                ExtendDeadlineInput(
                    case_ref=self.complaint.case_ref,
                    deadline_key=f"{self.complaint.case_ref}/handling",
                    amount=HANDLING.amount + self.extension_days,
                    extension_days=self.extension_days,
                    actor_id=decision.actor_id,
                    reason=request.reason,
                ),
                start_to_close_timeout=DATABASE_TIMEOUT,
                retry_policy=DATABASE_RETRY,
            )
            # Every open handling task is due later now: move its ladder.
            self.tasks.replan(lambda task_id: "/approve_extension/" not in task_id)
        else:
            await self._record(
                "extension.refused",
                actor_id=decision.actor_id,
                details={"reason": decision.record.get("reason", "")},
            )
        self.extension_pending = False
        self.tasks.parked += 1

    async def _close(self, outcome: str) -> None:
        assert self.tasks is not None
        for task in self.side_work:
            if not task.done():
                task.cancel()
        for task_id in list(self.tasks.open):
            await self.tasks.cancel(task_id)
        self.status = CaseStatus.CLOSED.value
        await self._record(
            "case.closed",
            status=self.status,
            closed=True,
            details={"outcome": outcome},
        )
        self.tasks.parked += 1

    async def _record(
        self,
        event: str,
        *,
        actor_id: int | None = None,
        details: dict[str, str] | None = None,
        status: str | None = None,
        outcome: str | None = None,
        outcome_reason: str | None = None,
        transferred_to: int | None = None,
        accepted_on: str | None = None,
        held: bool | None = None,
        closed: bool = False,
        deliberation: bool | None = None,
    ) -> None:
        self.sequence += 1
        await workflow.execute_activity(
            "record_case",
            CaseRecordInput(
                case_ref=self.complaint.case_ref,
                event=event,
                dedupe_key=f"{self.complaint.case_ref}/{self.sequence}/{event}",
                actor_id=actor_id,
                details=details or {},
                status=status,
                outcome=outcome,
                outcome_reason=outcome_reason,
                transferred_to=transferred_to,
                accepted_on=accepted_on,
                held=held,
                closed=closed,
                deliberation=deliberation,
            ),
            start_to_close_timeout=DATABASE_TIMEOUT,
            retry_policy=DATABASE_RETRY,
        )
