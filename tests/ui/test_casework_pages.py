"""The casework pages as 王 and 李 use them, on a real Temporal and database."""

import asyncio
import re
from datetime import timedelta

import httpx
from sqlmodel import col, select

from api.security import ANON_CSRF_COOKIE
from domain.deadlines import end_of_day
from store.db import Database
from store.models import AuditEvent, Case, Compound, Deadline, Task, TaskStatus
from tests.casework.conftest import Person, PersonFactory, casework  # noqa: F401
from tests.conftest import user_id
from tests.workflows.conftest import env, smtp_sink  # noqa: F401
from ui.i18n import gettext
from ui.pages_casework import now

LIFT = {
    "channel": "phone",
    "complainant_name": "张三",
    "complainant_phone": "13812345678",
    "complainant_address": "和平路18号3号楼",
    "category": "lifts",
    "facts": "3号楼电梯停运一周，老人无法下楼",
    "clues": "3号楼1单元",
}
DECLARATION = (
    "I declare that I have no conflict of interest with the parties (art. 79)."
)
UNDECLARED = "Declare that you have no conflict of interest (art. 79)."
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
_CASE = re.compile(r"/cases/(TS-\d{4}-\d{6})")


def zh(message: str) -> str:
    return gettext("zh_CN", message)


def compound_id(database: Database, code: str = "XQ-001") -> str:
    with database.read() as session:
        compound = session.exec(select(Compound).where(Compound.code == code)).one()
        return str(compound.id)


async def submit(person: Person, path: str, data: dict) -> httpx.Response:
    """Post a form as the browser does: fields plus the page's CSRF token."""
    return await person.http.post(path, data={**data, "csrf_token": person.csrf})


async def register(person: Person, database: Database, **changes: str) -> str:
    """Register through the form; the case number the redirect names."""
    form = (await person.get("/complaints/new")).text
    key = _KEY.search(form)
    assert key is not None
    data = {
        **LIFT,
        "compound_id": compound_id(database),
        "idempotency_key": key.group(1),
        **changes,
    }
    response = await submit(person, "/complaints/new", data)
    assert response.status_code == 303, response.text
    found = _CASE.search(response.headers["location"])
    assert found is not None
    return found.group(1)


async def open_task(database: Database, ref: str, step: str) -> Task:
    """The case's open task of `step`, once the workflow has opened it."""
    for _ in range(150):
        with database.read() as session:
            task = session.exec(
                select(Task).where(
                    Task.case_ref == ref,
                    Task.step == step,
                    col(Task.status).in_((TaskStatus.OPEN, TaskStatus.CLAIMED)),
                )
            ).first()
        if task is not None:
            return task
        await asyncio.sleep(0.1)
    raise AssertionError(f"no open {step} task on {ref}")


async def test_register_complaint_form_redirects_to_case_with_deadline(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")

    ref = await register(wang, database)
    page = (await wang.get(f"/cases/{ref}", registered=1)).text

    assert zh("The complaint is registered as case %(ref)s.") % {"ref": ref} in page
    assert zh("Acceptance deadline") in page
    assert "7个工作日 · 《工作指引》第76条" in page
    # The explanation says how the due date was counted (art. 76).
    assert "工作日" in page and "第76条" in page


async def test_register_complaint_twice_with_same_key_gives_one_case(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")
    form = (await wang.get("/complaints/new")).text
    key = _KEY.search(form)
    assert key is not None
    data = {**LIFT, "compound_id": compound_id(database), "idempotency_key": key[1]}

    first, second = await asyncio.gather(
        submit(wang, "/complaints/new", data), submit(wang, "/complaints/new", data)
    )

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    with database.read() as session:
        assert len(session.exec(select(Case)).all()) == 1


async def test_register_complaint_with_mistakes_keeps_what_was_typed(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")

    response = await submit(
        wang,
        "/complaints/new",
        {
            **LIFT,
            "compound_id": compound_id(database),
            "facts": "",
            "complainant_phone": "138-abc",
            "idempotency_key": "k-typed",
        },
    )

    assert response.status_code == 422
    page = response.text
    assert zh("Describe the facts.") in page
    assert zh("A phone number has digits only.") in page
    assert 'value="张三"' in page
    assert 'value="138-abc"' in page
    assert 'value="k-typed"' in page
    assert '<option value="lifts" selected>' in page
    with database.read() as session:
        assert session.exec(select(Case)).first() is None


async def test_registration_form_warns_of_open_repeat(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")
    ref = await register(wang, database)

    response = await wang.http.get(
        "/complaints/new",
        params={"compound_id": compound_id(database), "category": "lifts"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert "<form" not in response.text
    assert ref in response.text


async def test_case_page_masks_complainant_until_revealed_and_audits(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")
    ref = await register(wang, database)

    masked = (await wang.get(f"/cases/{ref}")).text
    revealed = await submit(wang, f"/cases/{ref}/reveal", {})

    assert "138****5678" in masked
    assert "13812345678" not in masked
    assert "张三" not in masked
    assert revealed.status_code == 200
    assert "13812345678" in revealed.text
    with database.read() as session:
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.object_id == ref)
        ).all()
    assert "personal_data.revealed" in actions


async def test_inbox_shows_deadline_kind_basis_and_overdue_colour(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")
    ref = await register(wang, database)
    task = await open_task(database, ref, "accept")

    fresh = (await wang.get("/inbox")).text
    # Make the acceptance deadline ten days late.
    with database.write() as session:
        deadline = session.get(Deadline, task.deadline_id)
        row = session.get(Task, task.id)
        assert deadline is not None and row is not None
        deadline.due_date = now().date() - timedelta(days=10)
        deadline.due_at = end_of_day(deadline.due_date)
        row.due_at = deadline.due_at
    late = (await wang.get("/inbox", overdue=True)).text

    assert ref in fresh
    assert "7个工作日 · 《工作指引》第76条" in fresh
    assert f'class="" data-task="{task.id}"' in fresh
    assert f'class="overdue" data-task="{task.id}"' in late
    assert "逾期" in late


async def test_home_page_of_caseworker_is_her_inbox(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")
    ref = await register(wang, database)
    await open_task(database, ref, "accept")

    page = (await wang.get("/")).text

    assert f"<h1>{zh('My work')}</h1>" in page
    assert zh("My tasks") in page and zh("To claim") in page
    assert f"/tasks/{ref}/accept/1/claim" in page


async def test_claim_lost_race_shows_who_won(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang, sun = await casework("wang"), await casework("sun")
    ref = await register(wang, database)
    task = await open_task(database, ref, "accept")

    won = await submit(sun, f"/tasks/{task.id}/claim", {"next": "/inbox"})
    lost = await submit(wang, f"/tasks/{task.id}/claim", {"next": "/inbox"})

    assert won.status_code == 303
    assert lost.status_code == 409
    assert (
        zh("Someone else took this task first: {holder}.").format(holder="孙志强")
        in lost.text
    )


async def test_accept_and_handle_through_case_page(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")
    ref = await register(wang, database)
    accept = await open_task(database, ref, "accept")

    claimed = await submit(wang, f"/tasks/{accept.id}/claim", {"next": f"/cases/{ref}"})
    form_page = (await wang.get(f"/cases/{ref}")).text
    undeclared = await submit(
        wang, f"/tasks/{accept.id}/complete", {"outcome": "handle", "note": "属实"}
    )
    decided = await submit(
        wang,
        f"/tasks/{accept.id}/complete",
        {"outcome": "handle", "note": "属实", "no_conflict": "true"},
    )
    investigate = await open_task(database, ref, "investigate")
    await submit(wang, f"/tasks/{investigate.id}/claim", {"next": f"/cases/{ref}"})
    no_note = await submit(wang, f"/tasks/{investigate.id}/complete", {"note": ""})
    investigated = await submit(
        wang, f"/tasks/{investigate.id}/complete", {"note": "现场查看，电梯确已停运"}
    )
    verify = await open_task(database, ref, "verify")
    page = (await wang.get(f"/cases/{ref}")).text

    assert claimed.status_code == 303
    assert zh(DECLARATION) in form_page
    assert undeclared.status_code == 422
    assert zh(UNDECLARED) in undeclared.text
    assert ">属实</textarea>" in undeclared.text
    assert decided.status_code == 303
    assert no_note.status_code == 422
    assert zh("Record what the investigation found.") in no_note.text
    assert investigated.status_code == 303
    assert verify.step == "verify"
    assert zh("Handling started") in page
    handling = re.search(r"<td[^>]*>办理.*?</tr>", page, re.S)
    assert handling is not None
    assert "60日" in handling[0] and "《工作指引》第80条" in handling[0]


async def test_case_page_refuses_other_office_and_company(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")
    zhou, chen = await casework("zhou"), await casework("chen")
    ref = await register(wang, database)

    assert (await zhou.get(f"/cases/{ref}")).status_code == 403
    assert (await chen.get(f"/cases/{ref}")).status_code == 403
    assert (await chen.get("/complaints/new")).status_code == 403


async def test_supervisor_reassigns_tasks_at_once(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang, li = await casework("wang"), await casework("li")
    ref = await register(wang, database)
    task = await open_task(database, ref, "accept")
    await submit(wang, f"/tasks/{task.id}/claim", {"next": "/inbox"})

    dashboard = (await li.get("/supervisor")).text
    response = await submit(
        li,
        "/supervisor/assign",
        {"task_ids": [task.id], "assignee_id": str(user_id(database, "sun"))},
    )

    assert f'name="task_ids" value="{task.id}"' in dashboard
    assert "孙志强" in dashboard
    assert response.status_code == 303
    with database.read() as session:
        row = session.get(Task, task.id)
        assert row is not None
        assert row.assignee_id == user_id(database, "sun")
    after = (await li.get("/supervisor", assigned=1)).text
    assert zh("%(n)s tasks reassigned.") % {"n": 1} in after


async def test_public_complaint_form_registers_without_sign_in(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    app = (await casework("wang")).http._transport.app  # type: ignore[attr-defined]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as resident:
        form = await resident.get("/public/complaint")
        token = resident.cookies.get(ANON_CSRF_COOKIE, "")
        response = await resident.post(
            "/public/complaint",
            data={
                **LIFT,
                "compound_id": compound_id(database),
                "idempotency_key": "web-1",
                "csrf_token": token,
            },
        )

    assert form.status_code == 200
    assert response.status_code == 200
    found = re.search(r'<strong class="ref">(TS-\d{4}-\d{6})</strong>', response.text)
    assert found is not None
    with database.read() as session:
        case = session.exec(select(Case).where(Case.ref == found[1])).one()
    assert case.channel == "website"
    assert "13812345678" not in response.text


async def test_hold_then_new_clues_return_case_to_acceptance(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")
    ref = await register(wang, database)
    accept = await open_task(database, ref, "accept")
    await submit(wang, f"/tasks/{accept.id}/claim", {"next": f"/cases/{ref}"})

    held = await submit(
        wang,
        f"/tasks/{accept.id}/complete",
        {"outcome": "hold", "no_conflict": "true"},
    )
    held_page = (await wang.get(f"/cases/{ref}")).text
    empty = await submit(wang, f"/cases/{ref}/clues", {"clues": ""})
    added = await submit(
        wang, f"/cases/{ref}/clues", {"clues": "3号楼2单元，电梯编号B2"}
    )
    again = await open_task(database, ref, "accept")

    assert held.status_code == 303
    assert zh("held since %(when)s").split("%")[0] in held_page
    assert 'action="/cases/' + ref + '/clues"' in held_page
    assert empty.status_code == 422
    assert zh("Write the new clues.") in empty.text
    assert added.status_code == 303
    assert again.id != accept.id


async def test_accept_form_suggests_the_agency_for_a_transfer(
    casework: PersonFactory,  # noqa: F811
    database: Database,
) -> None:
    wang = await casework("wang")
    ref = await register(wang, database, category="illegal_construction")
    accept = await open_task(database, ref, "accept")
    await submit(wang, f"/tasks/{accept.id}/claim", {"next": f"/cases/{ref}"})

    page = (await wang.get(f"/cases/{ref}")).text
    no_agency = await submit(
        wang,
        f"/tasks/{accept.id}/complete",
        {"outcome": "transfer", "agency_id": "", "no_conflict": "true"},
    )

    suggested = re.search(r'<option value="(\d+)" selected>([^<]+)</option>', page)
    assert suggested is not None
    assert suggested[2].startswith("东城区规划和自然资源局")
    assert no_agency.status_code == 422
    assert zh("Choose the agency the case goes to.") in no_agency.text
    # The typed decision is kept: transfer stays chosen.
    assert 'value="transfer" checked' in no_agency.text
