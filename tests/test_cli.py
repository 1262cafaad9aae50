"""The `wuye` commands an operator runs."""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from store import audit
from tests.conftest import migrated, sqlite_url


def _wuye(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wuye.cli", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_audit_verify_names_the_tampered_entry_and_fails() -> None:
    url = sqlite_url()
    database = migrated(url)
    with database.write() as session:
        for n in range(3):
            audit.record(
                session,
                actor_id=None,
                action="x",
                object_type="t",
                object_id=f"case-{n}",
            )
    intact = _wuye(url, "audit-verify")
    with database.write() as session:
        session.exec(text("DROP TRIGGER audit_event_no_update"))  # type: ignore[call-overload]
        session.exec(
            text("UPDATE audit_event SET action = 'y' WHERE object_id = 'case-1'")
        )  # type: ignore[call-overload]
        bad_id = session.exec(  # type: ignore[call-overload]
            text(
                "SELECT id FROM audit_event WHERE object_id = 'case-1' AND action = 'y'"
            )
        ).scalar_one()
    database.dispose()

    tampered = _wuye(url, "audit-verify")

    assert intact.returncode == 0
    assert "intact" in intact.stdout
    assert tampered.returncode == 1
    assert f"audit entry {bad_id} was tampered with" in tampered.stdout


def test_calendar_load_refuses_a_bad_file_with_its_line(tmp_path: Path) -> None:
    url = sqlite_url()
    migrated(url, demo=False).dispose()
    bad = tmp_path / "2027.txt"
    bad.write_text("year 2027\nholiday 2027-13-01 national_day\n", encoding="utf-8")
    good = tmp_path / "2027-good.txt"
    good.write_text(
        "# fictional test schedule\nyear 2027\nholiday 2027-10-01..2027-10-07"
        " national_day\n",
        encoding="utf-8",
    )

    refused = _wuye(url, "calendar-load", str(bad))
    loaded = _wuye(url, "calendar-load", str(good))

    assert refused.returncode == 2
    assert "line 2" in refused.stderr
    assert loaded.returncode == 0
    assert "loaded 2027 as calendar version" in loaded.stdout
