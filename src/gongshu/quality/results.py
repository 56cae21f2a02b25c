"""What a rule's evaluation gives (a report row), and what the engine reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from gongshu.quality.rules import dimension_of
from gongshu.storage.models import DatasetVersion


@dataclass
class RuleResult:
    rule: dict
    checked: int
    failed: int
    examples: list[dict] = field(default_factory=list)
    detail: str | None = None

    @property
    def pass_rate(self) -> float:
        return 1.0 if self.checked == 0 else (self.checked - self.failed) / self.checked

    @property
    def passed(self) -> bool:
        return self.pass_rate >= float(self.rule.get("mostly", 1.0)) - 1e-12

    def to_dict(self) -> dict:
        return {
            "id": self.rule["id"],
            "expectation": self.rule["expectation"],
            "dimension": dimension_of(self.rule),
            "column": self.rule.get("column")
            or "、".join(self.rule.get("column_list") or [])
            or None,
            "mostly": float(self.rule.get("mostly", 1.0)),
            "checked": self.checked,
            "failed": self.failed,
            "pass_rate": round(self.pass_rate, 6),
            "passed": self.passed,
            "examples": self.examples,
            "detail": self.detail,
        }


# What the engine reads: a stored version (through gongshu.storage, so sealed columns
# are decrypted in memory), or a plain Parquet file (benchmarks).
Stored = Path | tuple[Path, DatasetVersion]


@dataclass
class Reference:
    """Another entry's current version that a cross-entry rule compares with."""

    path: Stored
    columns: set[str]


def plain(example: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in example.items()}
