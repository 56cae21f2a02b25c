"""Column classifier: counts from the detectors, then a decision per column.

Two steps, so that a scan can be split across batches, threads or Spark
executors: :func:`~gongshu.discovery.counting.count_batch` turns one Arrow
record batch into additive :class:`TableCounts` (no Python per cell), counts
merge with ``+``, and :func:`decide` turns merged counts into a
:class:`TableResult`. Values decide first (checksums, formats, vocabularies); a
column's name only lowers the bar or decides what values cannot (GENDER 1/2
codes, BIRTH_DATE, RELIGION ...). The rule for one column is ``deciding.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from gongshu.discovery.counting import ColumnCounts, TableCounts, count_batch
from gongshu.discovery.deciding import (
    HINTED_SHARE,
    MIX_SHARE,
    STRONG_PURITY,
    STRONG_SHARE,
    Decision,
    decide_column,
    text_like,
)
from gongshu.discovery.detectors import DETECTORS
from gongshu.discovery.grading import Rules, default_rules
from gongshu.discovery.names import name_hints

__all__ = [
    "ColumnCounts",
    "ColumnResult",
    "TableCounts",
    "TableResult",
    "classify_table",
    "count_batch",
    "decide",
    "distinct_counts",
    "plan_from",
]
SPLIT_SHARE = 0.5  # rows where two columns joined form a valid ID, of the shorter column


@dataclass
class ColumnResult:
    name: str
    entities: list[str]
    sensitive: bool
    evidence: dict[str, dict]
    category: str | None = None
    grade: str | None = None
    masking: str | None = None
    embedded: dict[str, dict] = field(default_factory=dict)

    def to_dict(self, *, grading: bool = False) -> dict:
        out: dict = {
            "name": self.name,
            "entities": self.entities,
            "sensitive": self.sensitive,
            "evidence": self.evidence,
        }
        if self.embedded:  # entities inside free text or JSON (issue 21); a new key only
            out["embedded"] = self.embedded
        if grading:
            out |= {"category": self.category, "grade": self.grade, "masking": self.masking}
        return out


@dataclass
class TableResult:
    rows: int
    minors_under_14: bool
    columns: list[ColumnResult]
    grade: str | None = None
    important_data_candidate: bool = False
    reasons: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnResult:
        return next(c for c in self.columns if c.name == name)


def plan_from(counts: TableCounts) -> dict[str, tuple[str, ...] | None]:
    """Detectors worth running on the rest of a table, judged on its head: those that
    reach a third of the bar :func:`decide_column` sets for them (so a column whose
    mix shifts by less than that along the file is decided as if fully scanned).
    Columns that were empty in the head keep every detector."""
    plan: dict[str, tuple[str, ...] | None] = {}
    for name, cc in counts.columns.items():
        if cc.checked == 0:
            plan[name] = None
            continue
        hints = name_hints(name)
        text = text_like(cc)
        keep = []
        for d in DETECTORS:
            attributed, valid = cc.attributed[d.key], cc.valid[d.key]
            share = attributed / cc.checked
            if d.kind == "strong":
                pure = attributed / max(cc.shape_free[d.key], 1)
                ok = share >= STRONG_SHARE / 3 and pure >= STRONG_PURITY / 3
            elif d.kind == "axis":
                ok = share >= 0.5 / 3
            elif d.kind == "weak":
                ok = share >= min(HINTED_SHARE, MIX_SHARE) / 3
            elif d.kind == "hint":
                ok = d.entity in hints and share >= 0.5 / 3
            elif d.kind == "lookalike":
                ok = True
            else:
                ok = text and valid >= max(1, d.threshold / 3 * cc.checked)
            if ok and valid:
                keep.append(d.key)
        plan[name] = tuple(keep)
    return plan


def decide(
    counts: TableCounts,
    *,
    distinct: dict[str, int] | None = None,
    rules: Rules | None = None,
) -> TableResult:
    """Entities per column from merged counts; ``distinct`` values per column (from a
    sample) guard the name detector against low-cardinality code columns."""
    rules = rules or default_rules()
    distinct = distinct or {}
    decided: dict[str, Decision] = {}
    for name, cc in counts.columns.items():
        decided[name] = decide_column(name, cc, distinct.get(name))
    axes = {name: d.axes for name, d in decided.items()}
    lng = [n for n, a in axes.items() if "GEO_LNG" in a]
    lat = [n for n, a in axes.items() if "GEO_LAT" in a]
    for name, a in axes.items():
        hinted = "GEO_COORDINATE" in name_hints(name)
        if a and (hinted or (lng and lat)):
            key = "GEO_LNG" if "GEO_LNG" in a else "GEO_LAT"
            decided[name].found["GEO_COORDINATE"] = counts.columns[name].valid[key]
    # a date column that repeats the birth date inside an ID number is a birth date
    for (_id_col, date_col), same in counts.same_birth.items():
        dates = counts.columns[date_col].valid["DATE"]
        if "CN_RESIDENT_ID" in decided[_id_col].found and dates and same / dates >= 0.5:
            decided[date_col].found["BIRTH_DATE"] = dates
    # an ID number split over two columns: both columns carry it
    for (first, second), joined in sorted(counts.split_id.items()):
        shorter = min(counts.columns[first].checked, counts.columns[second].checked)
        if joined >= max(2, SPLIT_SHARE * shorter):
            for col, other in ((first, second), (second, first)):
                d = decided[col]
                d.found["CN_RESIDENT_ID"] = max(d.found.get("CN_RESIDENT_ID", 0), joined)
                d.extra.setdefault("CN_RESIDENT_ID", {})["split_with"] = other
    births = minors = 0
    for name, d in decided.items():
        cc = counts.columns[name]
        for key, entity in (("CN_RESIDENT_ID", "CN_RESIDENT_ID"), ("DATE", "BIRTH_DATE")):
            if entity in d.found and entity not in d.embedded:
                births += cc.births[key]
                minors += cc.minors[key]
    minors_flag = births > 0 and minors / births >= rules.minors_share
    return TableResult(
        counts.rows,
        minors_flag,
        [
            _result(name, d, counts.columns[name].checked, minors_flag, rules)
            for name, d in decided.items()
        ],
    )


def _result(name: str, d: Decision, checked: int, minors: bool, rules: Rules) -> ColumnResult:
    entities = sorted(d.found)
    sensitive = minors or any(rules.is_sensitive(e) for e in entities)
    evidence: dict[str, dict] = {}
    for e in entities:
        ev: dict = {"matched": min(d.found[e], checked), "checked": checked}
        if e in d.embedded:
            ev["embedded"] = True
        if e in d.masked:
            ev["masked"] = True
        evidence[e] = ev | d.extra.get(e, {})
    embedded = {}
    for e in sorted(d.embedded):
        embedded[e] = {"matched": min(d.embedded[e], checked), "checked": checked}
        if e in d.paths:
            embedded[e]["paths"] = d.paths[e]
    return ColumnResult(name, entities, sensitive, evidence, embedded=embedded)


def distinct_counts(table: pa.Table | pa.RecordBatch) -> dict[str, int]:
    """Distinct non-null values per column of a sample."""
    return {
        name: int(pc.count_distinct(table.column(name), mode="only_valid").as_py())
        for name in table.schema.names
    }


def classify_table(
    batch_or_table: pa.RecordBatch | pa.Table, *, today: date, rules: Rules | None = None
) -> TableResult:
    """Classify every column of an in-memory table (a sample or a whole table)."""
    rules = rules or default_rules()
    if isinstance(batch_or_table, pa.Table):
        batch_or_table = batch_or_table.combine_chunks()
    counts = count_batch(batch_or_table, today=today)
    result = decide(counts, distinct=distinct_counts(batch_or_table), rules=rules)
    rules.grade(result)
    return result
