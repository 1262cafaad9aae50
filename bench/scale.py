"""How big each measurement is: the full run, BENCH_QUICK=1, and the smoke test."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    # Figures 1 and 2: closed loops, this many in flight, measured over
    # windows of this many seconds (four windows: bare, API, API, bare).
    concurrency: int
    case_window_s: float
    registration_window_s: float
    # A window lasts until at least this many completions fell inside it.
    min_in_window: int
    # The windows in order, each a side and a multiple of the window: bare,
    # API twice as long, bare again, so a drift falls on both sides alike.
    rounds: tuple[tuple[str, float], ...]
    # Rounds still running when a window closes get this long to finish.
    drain_s: float
    # Open a window only once every loop has finished a round (steady state).
    warm: bool
    # Figure 4: registrations sent at once, with this many in flight.
    burst: int
    burst_concurrency: int
    burst_timeout_s: float
    # Figure 3: task rows, street offices, simulated users, load.
    rows_small: int
    rows_large: int
    inbox_users: int
    inbox_rate: float  # inbox views per second, open loop
    inbox_seconds: float


FULL = Scale(
    name="full",
    concurrency=20,
    case_window_s=15,
    registration_window_s=8,
    min_in_window=20,
    # Twice bare, API, API, bare: a minute a side. The machines are shared,
    # and over one such pass (half a minute a side) the ratio moved by a
    # tenth from one run to the next.
    rounds=(("bare", 1), ("api", 2), ("bare", 2), ("api", 2), ("bare", 1)),
    drain_s=10,
    warm=True,
    burst=5000,
    burst_concurrency=50,
    # Past the target, the wait only says by how much it is missed: the
    # run stops waiting here and projects when all would be visible.
    burst_timeout_s=330,
    rows_small=100_000,
    rows_large=1_000_000,
    inbox_users=100,
    inbox_rate=50,
    inbox_seconds=20,
)

QUICK = Scale(
    name="quick",
    concurrency=20,
    case_window_s=5,
    registration_window_s=2,
    min_in_window=5,
    rounds=(("bare", 1), ("api", 2), ("bare", 1)),
    drain_s=10,
    warm=True,
    burst=500,
    burst_concurrency=50,
    burst_timeout_s=120,
    rows_small=10_000,
    rows_large=100_000,
    inbox_users=20,
    inbox_rate=50,
    inbox_seconds=4,
)

SMOKE = Scale(
    name="smoke",
    concurrency=2,
    case_window_s=0.1,
    registration_window_s=0.1,
    min_in_window=1,
    rounds=(("bare", 1), ("api", 1)),
    drain_s=10,
    warm=False,
    burst=6,
    burst_concurrency=3,
    burst_timeout_s=30,
    rows_small=1_000,
    rows_large=2_000,
    inbox_users=2,
    inbox_rate=20,
    inbox_seconds=0.5,
)

SCALES = {scale.name: scale for scale in (FULL, QUICK, SMOKE)}


def default_scale() -> Scale:
    """BENCH_SCALE names one; BENCH_QUICK=1 means quick; else the full run."""
    named = os.environ.get("BENCH_SCALE")
    if named:
        return SCALES[named]
    return QUICK if os.environ.get("BENCH_QUICK", "") not in ("", "0") else FULL


def size_label(rows: int) -> str:
    """1_000_000 -> "1m", 100_000 -> "100k", 2_000 -> "2k"."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)
