"""Tests for the complaint vocabulary and rules of procedures §2."""

from datetime import date
from typing import get_args

import pytest

from domain.calendar import WorkingCalendar
from domain.complaints import (
    ACCEPTANCE,
    CASE_STATUS_NAMES,
    CATEGORY_NAMES,
    CHANNEL_NAMES,
    DISCIPLINE_AGENCY,
    HANDLING,
    MAX_EXTENSION_DAYS,
    OUTCOME_NAMES,
    REJECTION_REASON_NAMES,
    STATUS_AFTER_ACCEPTANCE,
    STEP_NAMES,
    SUBJECT_AGENCY,
    AcceptanceOutcome,
    CaseStatus,
    Category,
    Channel,
    ComplaintRuleError,
    DeadlineRule,
    DepartmentTypeKey,
    RejectionReason,
    Step,
    case_reference,
    is_repeat,
    label,
    parse_case_reference,
    suggested_agency,
    validate_extension,
)
from domain.deadlines import PeriodKind
from store.models import DepartmentType

CALENDAR = WorkingCalendar.default()


@pytest.mark.parametrize(
    ("enum", "names"),
    [
        (Channel, CHANNEL_NAMES),
        (Category, CATEGORY_NAMES),
        (AcceptanceOutcome, OUTCOME_NAMES),
        (RejectionReason, REJECTION_REASON_NAMES),
        (Step, STEP_NAMES),
        (CaseStatus, CASE_STATUS_NAMES),
    ],
)
def test_names_cover_every_member_in_both_languages(enum, names):
    assert set(names) == set(enum)
    for zh, en in names.values():
        assert zh and en
        assert any("\u4e00" <= c <= "\u9fff" for c in zh)
        assert en.isascii()


def test_names_are_distinct_within_a_table():
    for names in (CHANNEL_NAMES, CATEGORY_NAMES, OUTCOME_NAMES, STEP_NAMES):
        assert len({zh for zh, _ in names.values()}) == len(names)
        assert len({en for _, en in names.values()}) == len(names)


def test_label_picks_the_language():
    assert label(CHANNEL_NAMES, Channel.VISIT) == "来访"
    assert label(CHANNEL_NAMES, Channel.VISIT, "en") == "Visit in person"
    assert label(CATEGORY_NAMES, Category.ILLEGAL_CONSTRUCTION) == "私搭乱建"
    assert label(CATEGORY_NAMES, Category.DESTROYING_GREEN) == "毁绿种菜"


def test_channels_are_the_five_of_art_75():
    assert [label(CHANNEL_NAMES, c) for c in Channel] == [
        "电话",
        "网站",
        "信箱",
        "传真",
        "来访",
    ]


def test_outcome_names_follow_art_76():
    assert [label(OUTCOME_NAMES, o) for o in AcceptanceOutcome] == [
        "直接办理",
        "转办",
        "暂存待查",
        "转纪检监察",
        "不予受理",
    ]
    assert len(RejectionReason) == 5


def test_status_after_acceptance_covers_every_outcome():
    assert set(STATUS_AFTER_ACCEPTANCE) == set(AcceptanceOutcome)
    assert STATUS_AFTER_ACCEPTANCE[AcceptanceOutcome.NOT_ACCEPTED] is CaseStatus.CLOSED
    assert STATUS_AFTER_ACCEPTANCE[AcceptanceOutcome.HOLD] is CaseStatus.HELD


def test_department_keys_match_the_store_model():
    assert set(get_args(DepartmentTypeKey)) == {d.value for d in DepartmentType}
    assert DISCIPLINE_AGENCY == DepartmentType.DISCIPLINE_INSPECTION


def test_subject_agency_routes_every_category_to_a_known_agency():
    assert set(SUBJECT_AGENCY) == set(Category)
    agencies = {d.value for d in DepartmentType}
    assert all(a is None or a in agencies for a in SUBJECT_AGENCY.values())


@pytest.mark.parametrize(
    ("category", "agency"),
    [
        (Category.ILLEGAL_CONSTRUCTION, "planning"),
        (Category.LIFTS, "market_supervision"),
        (Category.FEES, "market_supervision"),
        (Category.FIRE_SAFETY, "fire_rescue"),
        (Category.SECURITY_ACCESS, "public_security"),
        (Category.GREEN_AREAS, "greening"),
        (Category.DESTROYING_GREEN, "greening"),
        (Category.HANDOVER_EXIT, "housing"),
        (Category.CLEANING_SANITATION, None),
        (Category.PARKING, None),
        (Category.OTHER, None),
    ],
)
def test_suggested_agency_follows_the_table_of_section_8(category, agency):
    assert suggested_agency(category) == agency
    assert suggested_agency(category.value) == agency


def test_suggested_agency_of_an_added_category_is_the_street_office():
    assert suggested_agency("balcony_drying") is None


def test_acceptance_deadline_worked_example():
    deadline = ACCEPTANCE.compute(date(2026, 9, 24), CALENDAR)

    assert deadline.kind is PeriodKind.WORKING_DAYS
    assert deadline.amount == 7
    assert deadline.basis == "art. 76"
    assert deadline.due_date == date(2026, 10, 12)


def test_handling_deadline_is_60_days_from_acceptance():
    deadline = HANDLING.compute(date(2026, 10, 12), CALENDAR)

    assert deadline.kind is PeriodKind.CALENDAR_DAYS
    assert deadline.basis == "art. 80"
    assert deadline.due_date == date(2026, 12, 11)


def test_handling_deadline_with_an_extension_counts_from_acceptance():
    deadline = HANDLING.compute(date(2026, 10, 12), CALENDAR, extra=20)

    assert deadline.amount == 80
    assert deadline.due_date == date(2026, 12, 31)


def test_handling_extension_is_not_added_to_a_rolled_due_date():
    # Day 60 from 2026-08-02 is National Day, rolled to 2026-10-08. Day 61 is
    # still in the holiday, so one day more ends on 10/08 too, not on 10/09.
    rule = DeadlineRule(PeriodKind.CALENDAR_DAYS, 60, "art. 80")

    assert rule.compute(date(2026, 8, 2), CALENDAR).due_date == date(2026, 10, 8)
    extended = rule.compute(date(2026, 8, 2), CALENDAR, extra=1)
    assert extended.due_date == date(2026, 10, 8)


@pytest.mark.parametrize(("requested", "granted"), [(30, 0), (10, 20), (1, 29), (1, 0)])
def test_validate_extension_accepts_up_to_30_days_in_all(requested, granted):
    validate_extension(requested, granted)


@pytest.mark.parametrize(
    ("requested", "granted"), [(0, 0), (-1, 0), (31, 0), (11, 20), (1, 30)]
)
def test_validate_extension_refuses_empty_or_too_long(requested, granted):
    with pytest.raises(ComplaintRuleError):
        validate_extension(requested, granted)


def test_validate_extension_error_carries_a_translatable_template():
    with pytest.raises(ComplaintRuleError) as caught:
        validate_extension(11, 20)

    error = caught.value
    assert isinstance(error, ValueError)
    assert "{maximum}" in error.template
    assert error.params == {"maximum": "30", "granted": "20", "requested": "11"}
    assert str(error) == error.template.format(**error.params)
    assert "30" in str(error)
    assert MAX_EXTENSION_DAYS == 30


@pytest.mark.parametrize(
    ("year", "sequence", "reference"),
    [
        (2026, 123, "TS-2026-000123"),
        (2026, 1, "TS-2026-000001"),
        (2027, 999999, "TS-2027-999999"),
        (2027, 1234567, "TS-2027-1234567"),
    ],
)
def test_case_reference_round_trip(year, sequence, reference):
    assert case_reference(year, sequence) == reference
    assert parse_case_reference(reference) == (year, sequence)


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "TS-2026-123",
        "TS-2026-0000123",
        "TS-2026-000000",
        "ts-2026-000123",
        "TX-2026-000123",
        "TS-26-000123",
        "TS-2026-000123 ",
        "TS-2026-00012a",
        "TS-２０２６-000123",
    ],
)
def test_parse_case_reference_refuses_malformed(reference):
    with pytest.raises(ValueError):
        parse_case_reference(reference)


@pytest.mark.parametrize(("year", "sequence"), [(2026, 0), (2026, -5), (26, 1)])
def test_case_reference_refuses_bad_parts(year, sequence):
    with pytest.raises(ValueError):
        case_reference(year, sequence)


def test_is_repeat_finds_open_cases_of_the_same_subject():
    open_cases = [
        ("TS-2026-000001", 7, 70, "fees"),
        ("TS-2026-000002", 7, 71, "fees"),
        ("TS-2026-000003", 7, 70, "noise"),
        ("TS-2026-000004", 8, 70, "fees"),
        ("TS-2026-000005", 7, 70, Category.FEES),
    ]

    repeats = is_repeat(7, 70, Category.FEES, open_cases)

    assert [case[0] for case in repeats] == ["TS-2026-000001", "TS-2026-000005"]


def test_is_repeat_finds_nothing_without_open_cases():
    assert is_repeat(7, 70, Category.FEES, []) == ()
