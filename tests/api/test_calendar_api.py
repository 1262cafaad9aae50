"""The public deadline calculator and the administrator's calendar upload."""

from collections.abc import Callable

import pytest

from store.db import Database
from tests.conftest import Browser

FICTIONAL_2027 = """\
# A fictional schedule for tests; not the State Council's.
year 2027
source test schedule
holiday 2027-01-01..2027-01-03 new_years_day
holiday 2027-02-05..2027-02-11 spring_festival
workday 2027-02-13 spring_festival
"""


@pytest.mark.parametrize(
    "kind, start, amount, due",
    [
        # The worked examples of procedures.md §1.
        ("working_days", "2026-09-24", 7, "2026-10-12"),
        ("calendar_days", "2026-09-30", 5, "2026-10-08"),
        ("calendar_days", "2026-09-10", 30, "2026-10-10"),
        ("months", "2026-08-31", 6, "2027-02-28"),
    ],
)
def test_deadline_needs_no_login_and_gives_the_worked_examples(
    make_client: Callable[..., Browser], kind: str, start: str, amount: int, due: str
) -> None:
    anonymous = make_client()

    response = anonymous.get(
        "/api/calendar/deadline",
        params={"kind": kind, "start": start, "amount": amount},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["due_date"] == due
    # The deadline ends at 24:00 Beijing time, i.e. midnight starting the next day.
    assert body["due_at"] == f"{_next_day(due)}T00:00:00+08:00"
    assert body["kind"] == kind
    assert body["basis"]
    assert body["explanation"]


def _next_day(day: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def test_deadline_explains_the_skipped_holidays(
    make_client: Callable[..., Browser],
) -> None:
    anonymous = make_client()

    body = anonymous.get(
        "/api/calendar/deadline",
        params={"kind": "working_days", "start": "2026-09-24", "amount": 7},
    ).json()

    assert "国庆节" in body["explanation"]
    assert {"day": "2026-10-01", "reason": "national_day", "name": "国庆节"} in body[
        "skipped"
    ]
    assert body["provisional"] is False


def test_deadline_into_an_unpublished_year_is_provisional(
    make_client: Callable[..., Browser],
) -> None:
    anonymous = make_client()

    body = anonymous.get(
        "/api/calendar/deadline",
        params={"kind": "working_days", "start": "2026-12-28", "amount": 10},
    ).json()

    assert body["provisional"] is True
    assert body["provisional_years"] == [2027]
    assert "暂定" in body["explanation"]


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"kind": "weeks", "start": "2026-09-24", "amount": "7"}, "kind"),
        ({"start": "2026-09-24", "amount": "7"}, "kind"),
        ({"kind": "working_days", "start": "2026-02-30", "amount": "7"}, "start"),
        ({"kind": "working_days", "start": "24/09/2026", "amount": "7"}, "start"),
        ({"kind": "working_days", "start": "2026-09-24", "amount": "seven"}, "amount"),
        ({"kind": "working_days", "start": "2026-09-24", "amount": "0"}, "amount"),
        ({"kind": "calendar_days", "start": "2026-09-24", "amount": "-5"}, "amount"),
    ],
)
def test_bad_calculator_input_gets_422_naming_the_parameter(
    make_client: Callable[..., Browser], params: dict[str, str], parameter: str
) -> None:
    anonymous = make_client()

    response = anonymous.get("/api/calendar/deadline", params=params)

    assert response.status_code == 422
    assert response.json()["parameter"] == parameter
    assert parameter in response.json()["detail"]


def test_calculator_errors_speak_english_when_asked(
    make_client: Callable[..., Browser],
) -> None:
    anonymous = make_client()

    response = anonymous.get(
        "/api/calendar/deadline",
        params={"kind": "weeks", "start": "2026-09-24", "amount": "7"},
        headers={"accept-language": "en-GB,en;q=0.9"},
    )

    assert response.json()["detail"].startswith("kind must be one of")


def test_year_view_lists_holidays_and_adjusted_working_days(
    make_client: Callable[..., Browser],
) -> None:
    anonymous = make_client()

    year = anonymous.get("/api/calendar/years/2026").json()
    unpublished = anonymous.get("/api/calendar/years/2027").json()

    assert year["published"] is True
    assert year["source"].startswith("chinese-calendar")
    assert {"day": "2026-10-10", "key": "national_day", "name": "国庆节"} in year[
        "adjusted_workdays"
    ]
    assert unpublished["published"] is False
    assert any(h["day"] == "2027-10-01" for h in unpublished["holidays"])


def test_upload_of_a_bad_file_names_the_wrong_line(
    make_client: Callable[..., Browser],
) -> None:
    admin = make_client("admin")
    bad = FICTIONAL_2027.replace("2027-02-13", "2027-02-30")

    response = admin.post(
        "/api/calendar/schedules",
        files={"file": ("2027.txt", bad.encode())},
        headers={"X-CSRF-Token": admin.csrf},
    )

    assert response.status_code == 400
    assert "第6行" in response.json()["detail"]
    assert "2027-02-30" in response.json()["detail"]


def test_upload_recomputes_open_deadlines_and_records_each_move(
    database: Database, make_client: Callable[..., Browser]
) -> None:
    admin = make_client("admin")
    wang = make_client("wang")
    before = {d["subject"]: d for d in wang.get("/api/deadlines").json()}
    handling = before["示例：投诉办理"]
    assert handling["provisional"] is True

    response = admin.post(
        "/api/calendar/schedules",
        files={"file": ("2027.txt", FICTIONAL_2027.encode())},
        headers={"X-CSRF-Token": admin.csrf},
    )

    assert response.status_code == 201
    result = response.json()
    assert result["year"] == 2027
    moved = {m["deadline_id"]: m for m in result["moved"]}
    assert handling["id"] in moved
    after = wang.get(f"/api/deadlines/{handling['id']}").json()
    assert after["provisional"] is False
    assert after["calendar_version"] == result["calendar_version"]
    change = after["changes"][-1]
    assert change["old_due_date"] == handling["due_date"]
    assert change["new_due_date"] == after["due_date"]
    assert "2027" in change["reason"]
    assert after["original_due_date"] == handling["original_due_date"]
    year = wang.get("/api/calendar/years/2027").json()
    assert year["published"] is True
    assert "test schedule" in year["source"]
