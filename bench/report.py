"""Figures, their targets, the printed lines and var/bench.json."""

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# A figure's line: `name: value unit (target: ...)`, or `(no target)`.
LINE = re.compile(
    r"^(?P<name>[a-z0-9_]+): (?P<value>-?\d+(?:\.\d+)?|nan) (?P<unit>\S+)"
    r" \((?:target: (?P<target>[<>]=? \d+(?:\.\d+)?)|no target)\)$"
)


@dataclass(frozen=True)
class Target:
    """`value op bound`, e.g. ratio >= 0.7."""

    op: str  # one of >=, <=, <, >
    bound: float

    def met(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return {
            ">=": value >= self.bound,
            "<=": value <= self.bound,
            "<": value < self.bound,
            ">": value > self.bound,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.op} {self.bound:g}"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: Target | None = None

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.value)

    def line(self) -> str:
        shown = "nan" if math.isnan(self.value) else _format(self.value)
        target = f"target: {self.target}" if self.target else "no target"
        return f"{self.name}: {shown} {self.unit} ({target})"


def _format(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


@dataclass
class Report:
    """What the run found, printed as it goes and written at the end."""

    scale: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print(figure.line(), flush=True)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"# {text}", flush=True)

    def fail(self, group: str, error: BaseException | str) -> None:
        text = f"{group} failed: {error}"
        self.failures.append(text)
        print(f"# {text}", flush=True)

    @property
    def missed(self) -> list[str]:
        return [figure.name for figure in self.figures if figure.met is False]

    def summary(self) -> str:
        with_target = [figure for figure in self.figures if figure.target]
        missed = self.missed
        parts = [f"bench: {len(with_target) - len(missed)} of {len(with_target)}"]
        parts.append("targets met")
        if missed:
            parts.append(f"(missed: {', '.join(missed)})")
        if self.failures:
            parts.append(f"; {len(self.failures)} group(s) failed to run")
        return " ".join(parts)

    @property
    def ok(self) -> bool:
        return not self.missed and not self.failures

    def as_json(self, seconds: float) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "seconds": round(seconds, 1),
            "ok": self.ok,
            "figures": [
                {
                    **{k: v for k, v in asdict(figure).items() if k != "target"},
                    "value": None if math.isnan(figure.value) else figure.value,
                    "target": str(figure.target) if figure.target else None,
                    "met": figure.met,
                    "line": figure.line(),
                }
                for figure in self.figures
            ],
            "notes": self.notes,
            "failures": self.failures,
            "summary": self.summary(),
        }

    def write(self, path: Path, seconds: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.as_json(seconds), ensure_ascii=False, indent=2)
        path.write_text(text + "\n", encoding="utf-8")
