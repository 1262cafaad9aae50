"""`wuye` commands: migrate, seed, run the parts, verify the audit log."""

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from wuye.settings import get_settings


def migrate() -> int:
    """Bring the schema up to date and store the packaged calendar years."""
    from store.calendars import import_packaged_schedules
    from store.db import get_database
    from store.migrate import upgrade

    database = get_database()
    upgrade(database.writer)
    with database.write() as session:
        added = import_packaged_schedules(session)
    if added:
        print(f"calendar: stored {len(added)} published years ({added[0]}-{added[-1]})")
    return 0


def seed() -> int:
    """Load the demo data unless it is there already."""
    from store.db import get_database
    from wuye.seed import seed as seed_demo

    with get_database().write() as session:
        created = seed_demo(session)
    print("demo data created" if created else "demo data already present")
    return 0


def audit_verify() -> int:
    """Check the audit chain; exit 1 and name the first bad entry if broken."""
    from store.audit import verify_database
    from store.db import get_database

    with get_database().read() as session:
        report = verify_database(session)
    if report.intact:
        print(f"audit log intact: {report.checked} entries")
        return 0
    print(f"audit entry {report.first_bad_id} was tampered with: {report.problem}")
    return 1


def calendar_load(path: Path) -> int:
    """Load a year's schedule file, as an administrator's upload would."""
    from domain.calendar_file import CalendarFileError
    from store.calendars import load_schedule_file
    from store.db import get_database

    try:
        with get_database().write() as session:
            result = load_schedule_file(
                session, path.read_text(encoding="utf-8-sig"), path.name, None
            )
    except CalendarFileError as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 2
    print(
        f"loaded {result.year} as calendar version {result.version}:"
        f" {result.recomputed} open deadlines recomputed, {len(result.moves)} moved"
    )
    return 0


def web(host: str, port: int, workers: int | None) -> int:
    import uvicorn

    if workers is None:
        workers = get_settings().web_concurrency
    uvicorn.run(
        "api.main:app", host=host, port=port, proxy_headers=True, workers=workers
    )
    return 0


def worker() -> int:
    from wuye.worker import run_worker

    asyncio.run(run_worker())
    return 0


def mailsink() -> int:
    from wuye.mailsink import serve_forever

    settings = get_settings()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_forever(
                settings.mail_sink_dir, settings.smtp_host, settings.smtp_port
            )
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Alembic and the Temporal SDK's own INFO lines bury ours.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="wuye", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help=migrate.__doc__)
    commands.add_parser("seed", help=seed.__doc__)
    commands.add_parser("audit-verify", help=audit_verify.__doc__)
    load = commands.add_parser("calendar-load", help=calendar_load.__doc__)
    load.add_argument("file", type=Path)
    serve = commands.add_parser("web", help="serve the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, help="server processes (default: WEB_CONCURRENCY)"
    )
    commands.add_parser("worker", help="run a Temporal worker")
    commands.add_parser("mailsink", help="run the development SMTP sink")
    commands.add_parser("run", help="start everything for development")
    args = parser.parse_args(argv)

    if args.command == "migrate":
        return migrate()
    if args.command == "seed":
        return seed()
    if args.command == "audit-verify":
        return audit_verify()
    if args.command == "calendar-load":
        return calendar_load(args.file)
    if args.command == "web":
        return web(args.host, args.port, args.workers)
    if args.command == "worker":
        return worker()
    if args.command == "mailsink":
        return mailsink()
    from wuye.devrun import run_all

    return run_all()


if __name__ == "__main__":
    sys.exit(main())
