"""The vocabulary and rules of complaints and reports (投诉举报, procedures §2).

Channels, categories, acceptance outcomes and their deadlines, as data a
workflow, a page and a report can share. Nothing here touches a database or a
clock: a caller passes in the dates and the working calendar.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal, TypeVar

from domain.calendar import WorkingCalendar
from domain.calendar_file import N_
from domain.deadlines import Deadline, PeriodKind, compute_deadline

_Key = TypeVar("_Key")
_Reference = TypeVar("_Reference")


def label(names: Mapping[_Key, tuple[str, str]], key: _Key, locale: str = "zh") -> str:
    """Return the Chinese ("zh") or English ("en") label of a key in a names table."""
    zh, en = names[key]
    return en if locale == "en" else zh


class Channel(StrEnum):
    """How a complaint arrived (art. 75)."""

    PHONE = "phone"
    WEBSITE = "website"
    MAILBOX = "mailbox"
    FAX = "fax"
    VISIT = "visit"


CHANNEL_NAMES: dict[Channel, tuple[str, str]] = {
    Channel.PHONE: ("电话", "Phone"),
    Channel.WEBSITE: ("网站", "Website"),
    Channel.MAILBOX: ("信箱", "Mailbox"),
    Channel.FAX: ("传真", "Fax"),
    Channel.VISIT: ("来访", "Visit in person"),
}


class Category(StrEnum):
    """The starting list of complaint categories (procedures §7, art. 43(3), 56)."""

    CLEANING_SANITATION = "cleaning_sanitation"
    SECURITY_ACCESS = "security_access"
    GREEN_AREAS = "green_areas"
    LIFTS = "lifts"
    FIRE_SAFETY = "fire_safety"
    UTILITIES = "utilities"
    SHARED_REPAIRS = "shared_repairs"
    FEES = "fees"
    PARKING = "parking"
    ILLEGAL_CONSTRUCTION = "illegal_construction"
    DESTROYING_GREEN = "destroying_green"
    ANIMALS = "animals"
    EBIKES = "ebikes"
    OCCUPYING_SHARED_SPACE = "occupying_shared_space"
    NOISE = "noise"
    INFORMATION_DISCLOSURE = "information_disclosure"
    HANDOVER_EXIT = "handover_exit"
    MAINTENANCE_FUND = "maintenance_fund"
    OTHER = "other"


CATEGORY_NAMES: dict[Category, tuple[str, str]] = {
    Category.CLEANING_SANITATION: ("环境卫生", "Cleaning and sanitation"),
    Category.SECURITY_ACCESS: ("秩序维护与门禁", "Security and access"),
    Category.GREEN_AREAS: ("绿化养护", "Green areas"),
    Category.LIFTS: ("电梯", "Lifts"),
    Category.FIRE_SAFETY: ("消防安全与消防通道", "Fire safety and fire lanes"),
    Category.UTILITIES: ("水电气暖", "Water, power, gas and heating"),
    Category.SHARED_REPAIRS: ("共用部位维修", "Repairs of shared parts"),
    Category.FEES: ("收费", "Fees and charges"),
    Category.PARKING: ("停车", "Parking"),
    Category.ILLEGAL_CONSTRUCTION: ("私搭乱建", "Illegal construction"),
    Category.DESTROYING_GREEN: (
        "毁绿种菜",
        "Destroying green areas to grow vegetables",
    ),
    Category.ANIMALS: ("违规饲养动物", "Keeping animals against the rules"),
    Category.EBIKES: ("电动自行车违规停放充电", "E-bike parking and charging"),
    Category.OCCUPYING_SHARED_SPACE: ("占用公共空间", "Occupying shared space"),
    Category.NOISE: ("噪声", "Noise"),
    Category.INFORMATION_DISCLOSURE: ("信息公开", "Information disclosure"),
    Category.HANDOVER_EXIT: ("物业交接与退出", "Hand-over and exit of the company"),
    Category.MAINTENANCE_FUND: ("专项维修资金使用", "Maintenance fund use"),
    Category.OTHER: ("其他", "Other"),
}


class AcceptanceOutcome(StrEnum):
    """The acceptance decision (受理决定) within 7 working days (art. 76, 78)."""

    HANDLE = "handle"
    TRANSFER = "transfer"
    HOLD = "hold"
    DISCIPLINE = "discipline"
    NOT_ACCEPTED = "not_accepted"


OUTCOME_NAMES: dict[AcceptanceOutcome, tuple[str, str]] = {
    AcceptanceOutcome.HANDLE: ("直接办理", "Handle directly"),
    AcceptanceOutcome.TRANSFER: ("转办", "Transfer to the responsible agency"),
    AcceptanceOutcome.HOLD: ("暂存待查", "Hold pending clues"),
    AcceptanceOutcome.DISCIPLINE: ("转纪检监察", "Send to discipline inspection"),
    AcceptanceOutcome.NOT_ACCEPTED: ("不予受理", "Not accepted"),
}


class RejectionReason(StrEnum):
    """Why a complaint is not accepted: the five cases of art. 78."""

    NOT_PROPERTY_BREACH = "not_property_breach"
    NO_CONCRETE_CLUE = "no_concrete_clue"
    IN_LITIGATION = "in_litigation"
    REPEAT_OPEN = "repeat_open"
    PETITION_CONCLUDED = "petition_concluded"


REJECTION_REASON_NAMES: dict[RejectionReason, tuple[str, str]] = {
    RejectionReason.NOT_PROPERTY_BREACH: (
        "不属于违反物业管理法律法规、规章和相关规定的行为",
        "Not a breach of property management rules",
    ),
    RejectionReason.NO_CONCRETE_CLUE: (
        "未提供具体违法违规行为线索",
        "No concrete clue of a breach",
    ),
    RejectionReason.IN_LITIGATION: (
        "已经或者应当通过诉讼、行政复议、仲裁解决",
        "Already or properly in litigation, administrative reconsideration"
        " or arbitration",
    ),
    RejectionReason.REPEAT_OPEN: (
        "在投诉举报事项办理期间重复投诉举报",
        "A repeat of a complaint still being handled",
    ),
    RejectionReason.PETITION_CONCLUDED: ("已信访终结", "Petition already concluded"),
}


class Step(StrEnum):
    """The human steps of a case, each a task with its own record (art. 81)."""

    ACCEPT = "accept"
    TRANSFER_REPLY = "transfer_reply"
    INVESTIGATE = "investigate"
    VERIFY = "verify"
    FEEDBACK = "feedback"
    ARCHIVE = "archive"
    APPROVE_EXTENSION = "approve_extension"


STEP_NAMES: dict[Step, tuple[str, str]] = {
    Step.ACCEPT: ("受理决定", "Acceptance decision"),
    Step.TRANSFER_REPLY: ("转办答复", "Reply of the receiving agency"),
    Step.INVESTIGATE: ("调查", "Investigation"),
    Step.VERIFY: ("核实", "Verification"),
    Step.FEEDBACK: ("结果反馈", "Feedback to the complainant"),
    Step.ARCHIVE: ("归档", "Archive"),
    Step.APPROVE_EXTENSION: ("延期审批", "Extension approval"),
}


class CaseStatus(StrEnum):
    """Where a case stands, as a case list shows it."""

    REGISTERED = "registered"
    ACCEPTING = "accepting"
    HELD = "held"
    TRANSFERRED = "transferred"
    HANDLING = "handling"
    CLOSED = "closed"


CASE_STATUS_NAMES: dict[CaseStatus, tuple[str, str]] = {
    CaseStatus.REGISTERED: ("已登记", "Registered"),
    CaseStatus.ACCEPTING: ("受理审查中", "Deciding acceptance"),
    CaseStatus.HELD: ("暂存待查", "Held pending clues"),
    CaseStatus.TRANSFERRED: ("已转办", "Transferred"),
    CaseStatus.HANDLING: ("办理中", "Being handled"),
    CaseStatus.CLOSED: ("已办结", "Closed"),
}

# The status a case takes once its acceptance is decided. A case sent to
# discipline inspection leaves the street office like a transfer (art. 76(4));
# one not accepted is archived at once (art. 78).
STATUS_AFTER_ACCEPTANCE: dict[AcceptanceOutcome, CaseStatus] = {
    AcceptanceOutcome.HANDLE: CaseStatus.HANDLING,
    AcceptanceOutcome.TRANSFER: CaseStatus.TRANSFERRED,
    AcceptanceOutcome.HOLD: CaseStatus.HELD,
    AcceptanceOutcome.DISCIPLINE: CaseStatus.TRANSFERRED,
    AcceptanceOutcome.NOT_ACCEPTED: CaseStatus.CLOSED,
}

# The values of store.models.DepartmentType, spelled out so that this module
# stays free of the database models.
DepartmentTypeKey = Literal[
    "housing",
    "construction",
    "planning",
    "urban_management",
    "market_supervision",
    "public_security",
    "fire_rescue",
    "civil_air_defence",
    "greening",
    "discipline_inspection",
]

# Where a complaint about persons under supervision goes (art. 76(4)).
DISCIPLINE_AGENCY: DepartmentTypeKey = "discipline_inspection"

# The agency a transfer is suggested to, by subject (procedures §8, art. 53, 77).
# None means the street office's own duty (art. 76(1)): the service company's
# performance, and the breaches art. 56 has the street office's joint
# enforcement tackle when the table of art. 77 names no agency for them. The
# caseworker decides; this only preselects the transfer form.
SUBJECT_AGENCY: dict[Category, DepartmentTypeKey | None] = {
    Category.CLEANING_SANITATION: None,
    # Public order, security technology and guard services (art. 77(6)).
    Category.SECURITY_ACCESS: "public_security",
    # Occupying or damaging public green areas and trees (art. 77(9)).
    Category.GREEN_AREAS: "greening",
    # Lifts are special equipment (art. 77(4)).
    Category.LIFTS: "market_supervision",
    # Fire inspections are fire and rescue's, with the police stations
    # (art. 77(7)); fire and rescue is the one suggested.
    Category.FIRE_SAFETY: "fire_rescue",
    Category.UTILITIES: None,
    Category.SHARED_REPAIRS: None,
    # Price display and irregular charges (art. 77(4)).
    Category.FEES: "market_supervision",
    Category.PARKING: None,
    # The planning department decides that a building is illegal; urban
    # management enforcement then acts on it (art. 77(3)). The decision comes
    # first, so the transfer goes to planning.
    Category.ILLEGAL_CONSTRUCTION: "planning",
    Category.DESTROYING_GREEN: "greening",
    Category.ANIMALS: None,
    Category.EBIKES: None,
    Category.OCCUPYING_SHARED_SPACE: None,
    Category.NOISE: None,
    Category.INFORMATION_DISCLOSURE: None,
    # The property department oversees the service rooms and the selection of
    # the initial service company (art. 77(1)), which a hand-over concerns.
    Category.HANDOVER_EXIT: "housing",
    # The property department administers the maintenance fund, a duty of
    # "other agencies" (art. 77(10)).
    Category.MAINTENANCE_FUND: "housing",
    Category.OTHER: None,
}


def suggested_agency(category: Category | str) -> DepartmentTypeKey | None:
    """Return the agency to suggest for a transfer, or None for the street office."""
    # An administrator may add categories (procedures §7); those default to the
    # street office until someone routes them.
    try:
        return SUBJECT_AGENCY.get(Category(category))
    except ValueError:
        return None


# --- deadlines ---------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRule:
    """A period of the guideline with its legal basis."""

    kind: PeriodKind
    amount: int
    basis: str

    def compute(
        self, start: date, calendar: WorkingCalendar, extra: int = 0
    ) -> Deadline:
        """Compute the deadline from the day of the event, `extra` units longer."""
        return compute_deadline(
            self.kind, start, self.amount + extra, calendar, self.basis
        )


# Decide acceptance within 7 working days of registration (art. 76). A held
# case that receives new clues starts a new clock of the same length.
ACCEPTANCE = DeadlineRule(PeriodKind.WORKING_DAYS, 7, "art. 76")

# Handle within 60 days of acceptance (art. 80). An extension of N days makes
# the period 60+N calendar days counted from acceptance, not N days after the
# old due date: when day 60 fell on a rest day and rolled forward (Civil Code
# art. 203), adding to the rolled date would grant more than was approved.
HANDLING = DeadlineRule(PeriodKind.CALENDAR_DAYS, 60, "art. 80")

# At most 30 days of extension in all, approved by the street office's head
# (art. 80).
MAX_EXTENSION_DAYS = 30


class ComplaintRuleError(ValueError):
    """A complaint rule refused a request.

    `template` and `params` let a page show the message in the reader's
    language; `str()` gives it in English.
    """

    def __init__(self, message_template: str, **params: object) -> None:
        self.template = message_template
        self.params = {name: str(value) for name, value in params.items()}
        super().__init__(message_template.format(**self.params))


def validate_extension(requested_days: int, already_granted: int) -> None:
    """Refuse an extension that is empty or brings the total over 30 days."""
    if requested_days < 1:
        raise ComplaintRuleError(
            N_("an extension must be at least 1 day, not {requested}"),
            requested=requested_days,
        )
    if already_granted < 0:
        raise ComplaintRuleError(
            N_("the days already granted cannot be negative ({granted})"),
            granted=already_granted,
        )
    # art. 80: the extensions of one case add up to at most 30 days.
    if requested_days + already_granted > MAX_EXTENSION_DAYS:
        raise ComplaintRuleError(
            N_(
                "extensions may total at most {maximum} days (art. 80):"
                " {granted} already granted, {requested} requested"
            ),
            maximum=MAX_EXTENSION_DAYS,
            granted=already_granted,
            requested=requested_days,
        )


# --- references and repeats ----------------------------------------------------

CASE_REFERENCE_PREFIX = "TS"
_REFERENCE = re.compile(r"TS-([0-9]{4})-([0-9]{6,})")


def case_reference(year: int, sequence: int) -> str:
    """Return the case reference, e.g. "TS-2026-000123"."""
    if not 1000 <= year <= 9999:
        raise ValueError(f"a case reference year has four digits, not {year}")
    if sequence < 1:
        raise ValueError(f"a case reference sequence starts at 1, not {sequence}")
    return f"{CASE_REFERENCE_PREFIX}-{year}-{sequence:06d}"


def parse_case_reference(reference: str) -> tuple[int, int]:
    """Return the (year, sequence) of a case reference."""
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise ValueError(f"{reference!r} is not a case reference like TS-2026-000123")
    year, sequence = int(match.group(1)), int(match.group(2))
    # Only the canonical spelling is accepted: a sequence padded beyond six
    # digits or numbered 0 would name no case, or a case twice.
    if sequence < 1 or case_reference(year, sequence) != reference:
        raise ValueError(f"{reference!r} is not a case reference like TS-2026-000123")
    return year, sequence


# An open case as is_repeat reads it: (reference, company, compound, category).
OpenCase = tuple[_Reference, Hashable, Hashable, str]


def is_repeat(
    company_id: Hashable,
    compound_id: Hashable,
    category: Category | str,
    open_cases: Iterable[OpenCase[_Reference]],
) -> tuple[OpenCase[_Reference], ...]:
    """Return the open cases that a new complaint repeats (art. 78(4)).

    A repeat is a complaint about the same company, compound and category as a
    case still being handled; the caller passes only open cases. A match
    suggests the not_accepted outcome with reason repeat_open; the caseworker
    confirms it, since two problems of one category can be distinct.
    """
    return tuple(
        case
        for case in open_cases
        if case[1] == company_id and case[2] == compound_id and case[3] == category
    )
