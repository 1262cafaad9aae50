import time
from tests.workflows.test_complaint_reliability import *  # noqa
from tests.workflows.complaint_helpers import next_task, open_tasks, start, complete, today, terminate_running, register
from tests.workflows.conftest import mail_settings
from tests.conftest import user_id
from wuye.worker import build_worker


async def test_scratch(env, database, smtp_sink):
    host, port, _ = smtp_sink
    settings = mail_settings(host, port)
    case = register(database)
    queue = f"test-restart-{case.ref}"
    t0 = time.monotonic()
    handles = []
    try:
        async with build_worker(env.client, settings, database, queue):
            handle = await start(env.client, queue, case, await today(env))
            handles.append(handle)
            accept = await next_task(database, case.ref, "accept")
            wang = user_id(database, "wang")
            await complete(handle, accept.id, wang, "handle")
            await next_task(database, case.ref, "investigate")
            print("A done", time.monotonic() - t0, flush=True)
        print("A stopped", time.monotonic() - t0, flush=True)
        async with build_worker(env.client, settings, database, queue):
            print("B started", time.monotonic() - t0, flush=True)
            while tasks := open_tasks(database, case.ref):
                await complete(handle, tasks[0].id, wang)
                print("completed", tasks[0].step, time.monotonic() - t0, flush=True)
            result = await handle.result()
    finally:
        await terminate_running(handles)
