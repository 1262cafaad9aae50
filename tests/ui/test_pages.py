"""The pages through a real app and a real SQLite database, as a person uses them."""

import socket
from datetime import date, datetime
from email.message import EmailMessage

import aiosmtplib
import pytest
from sqlmodel import col, select

from api.security import ANON_CSRF_COOKIE
from domain.calendar import WorkingCalendar, YearSchedule
from domain.deadlines import SHANGHAI
from store.calendars import current_version, load_calendar, next_year_missing
from store.db import Database
from store.models import Deadline
from ui.i18n import gettext
from wuye.mailsink import start_sink
from wuye.seed import DEMO_DEADLINES, USERS
from wuye.settings import get_settings

DISPLAY_NAMES = {user.username: user.display_name for user in USERS}

# The subject of the seeded 60-day deadline from 2026-11-20, due 2027-01-19.
DEADLINE_INTO_2027 = DEMO_DEADLINES[1][1]

# Invented for the tests, not a State Council notice: 19 January 2027 is made
# a rest day so that the 60-day demo deadline ending that day moves (Civil
# Code art. 203) as well as losing its provisional mark.
TEST_SCHEDULE_2027 = """\
# Fictional schedule for the tests; not an official notice.
year 2027
source test schedule
holiday 2027-01-01..2027-01-03 new_years_day
holiday 2027-01-19 new_years_day
holiday 2027-02-06..2027-02-12 spring_festival
workday 2027-02-14 spring_festival
"""

BAD_SCHEDULE_2027 = """\
year 2027
holiday 2027-01-01 new_years_day
holiday 2027-02-30 spring_festival
"""

MISSING_YEAR = (
    "The State Council schedule for %(year)s has not been loaded: deadlines"
    " reaching into %(year)s are provisional. Load it on the calendar page as soon"
    " as it is published."
)

LOADED = (
    "Loaded %(year)s as calendar version %(version)s; %(count)s open deadlines"
    " recomputed, %(moved)s moved."
)


def zh(message: str) -> str:
    """A message as the Chinese pages show it; translators may reword it."""
    return gettext("zh_CN", message)


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main_of(page: str) -> str:
    """The page's <main> element: what the page says, without the header."""
    return page[page.index("<main>") : page.index("</main>")]


@pytest.mark.parametrize(
    ("username", "heading"),
    [
        ("admin", "系统管理"),
        ("d1admin", "系统管理"),
        ("wang", "我的工作"),
        ("zhao", "我的工作"),
        ("li", "监督看板"),
        ("liu", "纠纷调解"),
        ("chen", "企业门户"),
    ],
)
def test_show_home_page_each_role_in_chinese(make_client, username, heading):
    client = make_client(username)

    response = client.get("/")

    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in response.text
    assert DISPLAY_NAMES[username] in response.text
    assert "退出" in response.text
    assert "Sign out" not in response.text


@pytest.mark.parametrize(
    ("username", "heading"),
    [
        ("admin", "Administration"),
        ("wang", "My work"),
        ("li", "Dashboard"),
        ("liu", "Mediation"),
        ("chen", "Company portal"),
    ],
)
def test_show_home_page_each_role_in_english_after_switch(
    make_client, username, heading
):
    client = make_client(username)

    response = client.get("/lang/en")

    assert response.status_code == 200
    assert str(response.url) == "http://testserver/"
    assert f"<h1>{heading}</h1>" in response.text
    assert "Sign out" in response.text
    assert "退出" not in response.text
    assert DISPLAY_NAMES[username] in response.text


def test_show_home_page_supervisor_counts(make_client, database: Database):
    subjects = [d[1] for d in DEMO_DEADLINES if d[0] in ("S1", "S1-MED")]
    with database.read() as session:
        deadlines = session.exec(
            select(Deadline).where(col(Deadline.subject).in_(subjects))
        ).all()
    overdue = [d for d in deadlines if d.due_date < shanghai_today()]
    client = make_client("li")

    page = main_of(client.get("/").text)

    assert len(deadlines) == 3
    assert f"<strong>3</strong><span>{zh('open deadlines')}</span>" in page
    assert f"<strong>{len(overdue)}</strong><span>{zh('overdue')}</span>" in page
    assert "示例：投诉办理" in page
    # 光明街道's deadline lies outside 和平街道's jurisdiction.
    assert "示例：异议转送" not in page


def test_show_home_page_company_only_own_compounds(make_client):
    client = make_client("chen")

    page = main_of(client.get("/").text)

    assert "安居物业服务有限公司" in page
    assert "和平花园" in page
    assert "光明新村" in page
    assert "翠湖小区" not in page
    assert "阳光里" not in page


def test_open_home_page_signed_out_redirects_to_login(make_client):
    client = make_client()

    response = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_sign_in_wrong_password_shows_error_and_keeps_user_name(make_client):
    client = make_client()
    client.get("/login")

    response = client.post(
        "/login",
        data={
            "username": "wang",
            "password": "not-the-password",
            "csrf_token": client.cookies.get(ANON_CSRF_COOKIE, ""),
        },
        follow_redirects=False,
    )

    assert response.status_code == 400
    assert (
        zh("Wrong user name or password, or the account is disabled.") in response.text
    )
    assert 'name="username" value="wang"' in response.text


def test_sign_in_script_user_name_is_escaped(make_client):
    client = make_client()
    client.get("/login")

    response = client.post(
        "/login",
        data={
            "username": "<script>x</script>",
            "password": "whatever",
            "csrf_token": client.cookies.get(ANON_CSRF_COOKIE, ""),
        },
    )

    assert response.status_code == 400
    assert 'value="&lt;script&gt;x&lt;/script&gt;"' in response.text
    assert "<script>x</script>" not in response.text


def test_calculate_deadline_on_public_calendar_page(make_client):
    client = make_client()

    response = client.get(
        "/calendar",
        params={"kind": "working_days", "start": "2026-09-24", "amount": "7"},
    )

    assert response.status_code == 200
    assert "<html" in response.text
    assert "<strong>2026-10-12</strong>" in response.text
    # The explanation names the holidays it skipped.
    assert "跳过" in response.text
    assert "国庆节" in response.text


def test_calculate_deadline_htmx_returns_only_result(make_client):
    client = make_client()

    response = client.get(
        "/calendar",
        params={"kind": "working_days", "start": "2026-09-24", "amount": "7"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="calc-result"')
    assert "<html" not in response.text
    assert "<form" not in response.text
    assert "<strong>2026-10-12</strong>" in response.text


def test_calculate_deadline_bad_amount_shows_error_keeps_input(make_client):
    client = make_client()

    response = client.get(
        "/calendar",
        params={"kind": "calendar_days", "start": "2026-09-24", "amount": "seven"},
    )

    assert response.status_code == 200
    assert zh("amount must be a whole number.") in response.text
    assert 'value="seven"' in response.text
    assert 'value="2026-09-24"' in response.text
    assert '<option value="calendar_days" selected>' in response.text


def test_show_admin_home_missing_year_banner_when_due(make_client, database: Database):
    with database.read() as session:
        expected = next_year_missing(load_calendar(session), shanghai_today())
    client = make_client("admin")

    page = main_of(client.get("/").text)

    if expected is None:
        assert 'class="warning"' not in page
    else:
        assert zh(MISSING_YEAR) % {"year": expected} in page


def test_hide_missing_year_banner_from_those_who_cannot_load_it(make_client):
    district_admin = make_client("d1admin")
    anonymous = make_client()

    home = main_of(district_admin.get("/").text)
    calendar = main_of(anonymous.get("/calendar").text)

    assert 'class="warning" role="alert"' not in home
    assert 'class="warning" role="alert"' not in calendar


def test_find_missing_year_from_first_november():
    schedule_2031 = YearSchedule(
        year=2031,
        holidays={date(2031, 1, 1): "new_years_day"},
        workdays={},
        source="test schedule",
    )
    unpublished = WorkingCalendar({}, version=1)
    published = WorkingCalendar({2031: schedule_2031}, version=2)

    assert next_year_missing(unpublished, date(2030, 10, 31)) is None
    assert next_year_missing(unpublished, date(2030, 11, 1)) == 2031
    assert next_year_missing(unpublished, date(2030, 12, 31)) == 2031
    assert next_year_missing(published, date(2030, 11, 1)) is None


def test_upload_calendar_bad_file_names_line(make_client):
    client = make_client("admin")

    response = client.post(
        "/calendar/upload",
        data={"csrf_token": client.csrf},
        files={"file": ("2027.txt", BAD_SCHEDULE_2027.encode(), "text/plain")},
    )

    assert response.status_code == 400
    refused = zh("The calendar file was refused: {error}").split("{error}")[0]
    assert refused in response.text
    assert "第3行" in response.text
    assert "2027-02-30" in response.text


def test_upload_calendar_moves_provisional_deadline(make_client, database: Database):
    with database.read() as session:
        version_before = current_version(session)
        deadline = session.exec(
            select(Deadline).where(Deadline.subject == DEADLINE_INTO_2027)
        ).one()
    client = make_client("admin")
    before = client.get(f"/api/deadlines/{deadline.id}").json()

    response = client.post(
        "/calendar/upload",
        data={"csrf_token": client.csrf},
        files={"file": ("2027.txt", TEST_SCHEDULE_2027.encode(), "text/plain")},
    )

    assert response.status_code == 200
    loaded = zh(LOADED) % {
        "year": 2027,
        "version": version_before + 1,
        "count": len(DEMO_DEADLINES),
        "moved": 1,
    }
    assert loaded in response.text
    assert "<td>2027-01-19</td><td>2027-01-20</td>" in response.text
    after = client.get(f"/api/deadlines/{deadline.id}").json()
    assert before["due_date"] == "2027-01-19"
    assert after["due_date"] == "2027-01-20"
    assert after["provisional"] is False
    change = after["changes"][-1]
    assert change["old_due_date"] == "2027-01-19"
    assert change["new_due_date"] == "2027-01-20"
    assert change["new_provisional"] is False
    assert "calendar 2027 loaded" in change["reason"]
    assert "test schedule" in change["reason"]


def test_upload_calendar_district_admin_refused(make_client):
    client = make_client("d1admin")

    response = client.post(
        "/calendar/upload",
        data={"csrf_token": client.csrf},
        files={"file": ("2027.txt", TEST_SCHEDULE_2027.encode(), "text/plain")},
    )

    assert response.status_code == 403
    assert zh("Only a province administrator may load a calendar.") in response.text


async def test_show_dev_mail_lists_received_message(make_client):
    port = free_port()
    sink = start_sink(get_settings().mail_sink_dir, "127.0.0.1", port)
    message = EmailMessage()
    message["From"] = "wuye@localhost"
    message["To"] = "li@example.org"
    message["Subject"] = "逾期提醒 test-mail-sink"
    message.set_content("示例：投诉办理 已逾期。")
    try:
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port)
    finally:
        sink.stop()
    client = make_client("admin")

    response = client.get("/dev/mail")

    assert response.status_code == 200
    assert "逾期提醒 test-mail-sink" in response.text
    assert "li@example.org" in response.text
    assert "示例：投诉办理 已逾期。" in response.text


def test_show_dev_mail_caseworker_refused(make_client):
    client = make_client("wang")

    response = client.get("/dev/mail", headers={"Accept": "text/html"})

    assert response.status_code == 403
    refused = zh("Only an administrator may read the development mail.")
    assert refused in response.text
