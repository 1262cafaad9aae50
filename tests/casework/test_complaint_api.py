"""A complaint worked through the API by the people of journeys.md."""

import asyncio

from sqlmodel import select

from store.db import Database
from store.models import AuditEvent, Compound
from tests.casework.conftest import Person, PersonFactory

LIFT = {
    "channel": "phone",
    "category": "lifts",
    "facts": "3号楼电梯停运一周，张三家老人无法下楼",
    "clues": "3号楼1单元",
    "complainant_name": "张三",
    "complainant_phone": "13812345678",
}


def compound_id(database: Database, code: str = "XQ-001") -> int:
    with database.read() as session:
        compound = session.exec(select(Compound).where(Compound.code == code)).one()
        assert compound.id is not None
        return compound.id


async def register_lift(person: Person, database: Database) -> str:
    """Register the lift complaint in the demo compound; its case number."""
    registered = await person.post(
        "/api/complaints", json={**LIFT, "compound_id": compound_id(database)}
    )
    assert registered.status_code == 201, registered.text
    return str(registered.json()["ref"])


async def my_task(person: Person, scope: str = "group") -> dict:
    for _ in range(50):
        items = (await person.get("/api/tasks", scope=scope)).json()["items"]
        if items:
            return items[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no task in {scope}")


async def work(
    person: Person, outcome: str = "", scope: str = "group", **form: object
) -> dict:
    """Take the first task of `scope` (claimed from the queue) and complete it."""
    task = await my_task(person, scope)
    if scope == "group":
        claimed = await person.post(f"/api/tasks/{task['task_id']}/claim")
        assert claimed.status_code == 200, claimed.text
    done = await person.post(
        f"/api/tasks/{task['task_id']}/complete",
        json={"outcome": outcome, "note": "已处理", **form},
    )
    assert done.status_code == 200, done.text
    return task


async def test_register_and_handle_complaint_to_archive(
    casework: PersonFactory, database: Database
) -> None:
    wang = await casework("wang")

    registered = await wang.post(
        "/api/complaints", json={**LIFT, "compound_id": compound_id(database)}
    )

    assert registered.status_code == 201, registered.text
    ref = registered.json()["ref"]
    assert ref.startswith("TS-")
    assert "工作指引" in registered.json()["acceptance_explanation"]
    accept = await work(wang, "handle", no_conflict=True)
    assert accept["step"] == "accept"
    assert accept["deadline"]["basis"] == "art. 76"
    steps = [accept["step"]]
    # Having accepted it, Wang carries the case: each later step opens in her
    # own inbox, held by her, with nothing left in the office's queue.
    for _ in range(4):
        task = await work(wang, scope="mine")
        assert (task["status"], task["assignee"]) == ("claimed", "王晓梅")
        steps.append(task["step"])
    queue = (await wang.get("/api/tasks", scope="group")).json()["items"]
    case = (await wang.get(f"/api/complaints/{ref}")).json()
    assert steps == ["accept", "investigate", "verify", "feedback", "archive"]
    assert queue == []
    assert case["status"] == "closed"
    assert case["parties"][0]["name"] == "张*"
    assert "张三" not in str(case)


async def test_same_idempotency_key_gives_same_case(
    casework: PersonFactory, database: Database
) -> None:
    wang = await casework("wang")
    body = {**LIFT, "compound_id": compound_id(database), "idempotency_key": "intake-1"}

    first, second = await asyncio.gather(
        wang.post("/api/complaints", json=body), wang.post("/api/complaints", json=body)
    )

    assert first.status_code == second.status_code == 201
    assert first.json()["ref"] == second.json()["ref"]
    assert {first.json()["created"], second.json()["created"]} == {True, False}


async def test_second_claim_of_a_task_gets_409(
    casework: PersonFactory, database: Database
) -> None:
    wang, sun = await casework("wang"), await casework("sun")
    await wang.post(
        "/api/complaints", json={**LIFT, "compound_id": compound_id(database)}
    )
    task = await my_task(wang)

    first, second = await asyncio.gather(
        wang.post(f"/api/tasks/{task['task_id']}/claim"),
        sun.post(f"/api/tasks/{task['task_id']}/claim"),
    )

    assert sorted([first.status_code, second.status_code]) == [200, 409]


RECUSED = "您已声明与本案当事人存在利害关系（第79条）"


async def test_declared_conflict_refuses_claim_and_decision(
    casework: PersonFactory, database: Database
) -> None:
    wang, sun = await casework("wang"), await casework("sun")
    ref = await register_lift(wang, database)
    task = await my_task(wang)
    assert (await wang.post(f"/api/tasks/{task['task_id']}/claim")).status_code == 200

    # Wang knows the complainant: her claim goes back to the queue, and she may
    # neither take the task again nor decide it (art. 79).
    declared = await wang.post(
        f"/api/complaints/{ref}/recusal", {"scope": "case", "reason": "邻居"}
    )
    assert declared.status_code == 200, declared.text
    again = await wang.post(f"/api/tasks/{task['task_id']}/claim")
    decided = await wang.post(
        f"/api/tasks/{task['task_id']}/complete",
        {"outcome": "handle", "no_conflict": True},
    )
    assert again.status_code == decided.status_code == 403
    assert RECUSED in again.json()["detail"]
    assert RECUSED in decided.json()["detail"]

    # Sun's conflict is with the company: it covers this case too.
    sun_declared = await sun.post(
        f"/api/complaints/{ref}/recusal", {"scope": "company"}
    )
    assert sun_declared.status_code == 200, sun_declared.text
    refused = await sun.post(f"/api/tasks/{task['task_id']}/claim")
    assert refused.status_code == 403
    assert RECUSED in refused.json()["detail"]


async def test_a_step_goes_to_the_queue_when_its_carrier_may_not_take_it(
    casework: PersonFactory, database: Database
) -> None:
    wang, sun = await casework("wang"), await casework("sun")
    ref = await register_lift(wang, database)
    await work(wang, "handle", no_conflict=True)
    investigate = await my_task(wang, "mine")
    # A second click on "claim" for a task she holds changes nothing.
    again = await wang.post(f"/api/tasks/{investigate['task_id']}/claim")
    assert again.status_code == 200, again.text

    # Wang learns she knows the complainant: the investigation goes back to
    # the queue, and the verification after Sun's investigation is Sun's.
    declared = await wang.post(
        f"/api/complaints/{ref}/recusal", {"scope": "case", "reason": "邻居"}
    )
    assert declared.status_code == 200, declared.text
    assert (await wang.get("/api/tasks", scope="mine")).json()["items"] == []
    assert (await work(sun))["step"] == "investigate"
    verify = await my_task(sun, "mine")
    assert (verify["step"], verify["assignee"]) == ("verify", "孙志强")
    timeline = (await sun.get(f"/api/complaints/{ref}")).json()["timeline"]
    opened = [e for e in timeline if e["kind"] == "task.opened"]
    assert [e["assignee"] for e in opened] == ["", "王晓梅", "孙志强"]


async def test_other_street_office_cannot_open_the_case(
    casework: PersonFactory, database: Database
) -> None:
    wang, zhou = await casework("wang"), await casework("zhou")
    ref = await register_lift(wang, database)

    response = await zhou.get(f"/api/complaints/{ref}")

    assert response.status_code == 403


async def test_reveal_shows_the_complainant_and_is_audited(
    casework: PersonFactory, database: Database
) -> None:
    wang = await casework("wang")
    ref = await register_lift(wang, database)

    revealed = await wang.post(f"/api/complaints/{ref}/reveal")

    assert revealed.json()["parties"][0]["phone"] == "13812345678"
    with database.read() as session:
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.object_id == ref)
        ).all()
    assert "personal_data.revealed" in actions


async def test_repeat_complaint_is_flagged(
    casework: PersonFactory, database: Database
) -> None:
    wang = await casework("wang")
    body = {**LIFT, "compound_id": compound_id(database)}
    first = (await wang.post("/api/complaints", json=body)).json()["ref"]

    second = (await wang.post("/api/complaints", json=body)).json()

    assert second["repeat_of"] == [first]


async def test_bad_registration_names_each_field(
    casework: PersonFactory, database: Database
) -> None:
    wang = await casework("wang")

    response = await wang.post(
        "/api/complaints",
        json={
            **LIFT,
            "compound_id": compound_id(database),
            "category": "x",
            "facts": "",
        },
    )

    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"category", "facts"}
