"""`make bench` at a tiny scale, so that its machinery cannot rot unseen.

Speed is not asserted here (timed tests lie on shared machines): only that
every figure is measured and printed as `name: value unit (target: ...)`, and
that var/bench.json says the same.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import LINE

ROOT = Path(__file__).resolve().parents[2]

TEMPORAL_FIGURES = {
    "registration_api_per_s",
    "registration_bare_per_s",
    "registration_api_vs_bare_ratio",
    "complaint_api_cases_per_s",
    "complaint_bare_cases_per_s",
    "complaint_api_vs_bare_ratio",
    "burst_6_registrations_per_s",
    "burst_6_first_tasks_visible_s",
}


def inbox_figures(kind: str) -> set[str]:
    return {
        f"inbox_p95_ms_{kind}_1k",
        f"inbox_p95_ms_{kind}_2k",
        f"inbox_p95_ratio_{kind}",
    }


def run_bench(tmp_path: Path, only: str) -> tuple[list[str], dict]:
    out = tmp_path / "bench.json"
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--scale",
            "smoke",
            "--only",
            only,
            "--out",
            str(out),
            "--work",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = finished.stdout.splitlines()
    # 1 is a missed target, which a tiny scale may well give; more is a crash.
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["failures"] == [], finished.stdout + finished.stderr
    return lines, report


def check_output(lines: list[str], report: dict, expected: set[str]) -> None:
    figures = {}
    for line in lines[:-1]:
        if line.startswith("# "):
            continue
        found = LINE.match(line)
        assert found is not None, f"not a figure line: {line!r}"
        figures[found["name"]] = line
    assert set(figures) == expected
    assert lines[-1].startswith("bench: ")
    assert lines[-1] == report["summary"]
    assert {figure["name"]: figure["line"] for figure in report["figures"]} == figures
    for figure in report["figures"]:
        assert figure["value"] is not None and figure["value"] >= 0
        assert (figure["target"] is None) == (figure["met"] is None)
    assert report["ok"] == (
        lines[-1].endswith("targets met") and report["scale"] == "smoke"
    )


def test_temporal_figures_at_a_tiny_scale(tmp_path: Path) -> None:
    lines, report = run_bench(tmp_path, "registrations,cases,burst")

    check_output(lines, report, TEMPORAL_FIGURES)


@pytest.mark.postgres
def test_inbox_figures_at_a_tiny_scale(tmp_path: Path) -> None:
    lines, report = run_bench(tmp_path, "inbox-sqlite,inbox-postgres")

    check_output(lines, report, inbox_figures("sqlite") | inbox_figures("postgres"))
