"""One column's entities from its merged counts (the rules of README "How a column is
decided"). Values decide; a column's name only lowers a bar or decides what values
cannot. Entity-level sums let plain and masked values (``138****5678``), Han and
pinyin names, and whole values and sentences add up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from gongshu.discovery.counting import ColumnCounts
from gongshu.discovery.detectors import DETECTORS
from gongshu.discovery.jsoncells import last_key
from gongshu.discovery.names import name_hints

STRONG_SHARE, STRONG_PURITY = 0.1, 0.7
HINTED_SHARE = 0.3
# Two kinds that share one column (vehicle owners: people and companies), each above
# MIX_SHARE of the values, together above the bar of either.
MIXES = (("PERSON_NAME", "ORG_NAME"),)
MIX_SHARE = 0.1
# A column whose values are places or landmarks (黄鹤楼, 西湖) this often is no name column.
PLACE_VETO = 0.2
PROSE_SHARE = 0.3  # values that read as sentences (or JSON documents): a free-text column
WHOLE_KINDS = ("strong", "weak", "axis")


@dataclass
class Decision:
    found: dict[str, int] = field(default_factory=dict)  # entity -> matched
    axes: set[str] = field(default_factory=set)
    masked: set[str] = field(default_factory=set)
    embedded: dict[str, int] = field(default_factory=dict)  # found only inside text / JSON
    paths: dict[str, list[str]] = field(default_factory=dict)  # JSON paths per entity
    extra: dict[str, dict] = field(default_factory=dict)  # more evidence keys per entity

    def accept(self, entity: str, matched: int, *, masked: bool = False) -> None:
        self.found[entity] = max(self.found.get(entity, 0), matched)
        if masked:
            self.masked.add(entity)


def whole_share(cc: ColumnCounts) -> float:
    whole = sum(cc.attributed[d.key] for d in DETECTORS if d.kind in WHOLE_KINDS)
    return whole / cc.checked if cc.checked else 0.0


def text_like(cc: ColumnCounts) -> bool:
    """Free text: few whole values explain it, or it reads as sentences or JSON."""
    return whole_share(cc) < 0.5 or cc.prose + cc.json >= PROSE_SHARE * cc.checked


def _sums(cc: ColumnCounts, kind: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d in DETECTORS:
        if d.kind != kind:
            continue
        e = out[d.entity]
        e["attributed"] += cc.attributed[d.key]
        e["valid"] += cc.valid[d.key]
        e["shape_free"] += cc.shape_free[d.key]
        e["masked"] += cc.valid[d.key] if d.masked else 0
        e["bar"] = min(e.get("bar", 100), int(d.threshold * 100))
    return out


def decide_column(name: str, cc: ColumnCounts, distinct: int | None) -> Decision:
    out = Decision()
    if cc.checked == 0:
        return out
    hints = name_hints(name)
    n = cc.checked
    for entity, s in _sums(cc, "strong").items():
        pure = s["attributed"] / max(s["shape_free"], 1)
        if s["valid"] and pure >= STRONG_PURITY and s["attributed"] >= max(2, STRONG_SHARE * n):
            out.accept(entity, s["valid"], masked=s["masked"] > 0)
    for d in DETECTORS:
        if d.kind == "axis" and cc.valid[d.key]:
            share = cc.attributed[d.key] / n
            if share >= 0.8 or (d.entity in hints and share >= 0.5):
                out.axes.add(d.key)
    weak = _sums(cc, "weak")
    named_places = cc.valid["PLACE"] >= PLACE_VETO * n

    def weak_ok(entity: str, share: float) -> bool:
        if entity == "PERSON_NAME":
            if named_places or (distinct is not None and distinct < min(20, 0.5 * n)):
                return False
        return share * 100 >= weak[entity]["bar"] or (entity in hints and share >= HINTED_SHARE)

    for entity, s in weak.items():
        if s["valid"] and weak_ok(entity, s["attributed"] / n):
            out.accept(entity, s["valid"], masked=s["masked"] > 0)
    for pair in MIXES:
        shares = [weak[e]["attributed"] / n for e in pair]
        if min(shares) >= MIX_SHARE and all(weak_ok(e, sum(shares)) for e in pair):
            for e in pair:
                out.accept(e, weak[e]["valid"], masked=weak[e]["masked"] > 0)
    for d in DETECTORS:
        if d.kind == "hint" and cc.valid[d.key] and not out.found and d.entity in hints:
            if cc.attributed[d.key] / n >= 0.5:
                out.accept(d.entity, cc.valid[d.key])
    if text_like(cc):
        # a name inside a handful of fixed phrases (已回复，市民满意) is no person
        few = distinct is not None and distinct < min(20, 0.5 * n)
        _embedded_text(cc, out, names=not few)
    for path, part in sorted(cc.parts.items()):
        _embedded_json(path, part, out, cc.json)
    return out


def _embedded_text(cc: ColumnCounts, out: Decision, *, names: bool) -> None:
    """Entities inside sentences: rows holding a valid mention, per entity."""
    rows: dict[str, int] = defaultdict(int)
    bar: dict[str, float] = {}
    masked: set[str] = set()
    for d in DETECTORS:
        if d.kind == "text" and cc.valid[d.key]:
            rows[d.entity] += cc.valid[d.key]
            bar[d.entity] = min(bar.get(d.entity, 1.0), d.threshold)
            if d.masked:
                masked.add(d.entity)
    for entity, matched in rows.items():
        if entity == "PERSON_NAME" and not names:
            continue
        if matched >= max(2, bar[entity] * cc.checked):
            _embed(out, entity, min(matched, cc.checked), entity in masked)


def _embedded_json(path: str, part: ColumnCounts, out: Decision, cells: int) -> None:
    """Entities in the leaves of one JSON path, decided as a column named by its key."""
    key = last_key(path)
    sub = decide_column(key, part, None)
    if sub.axes and "GEO_COORDINATE" in name_hints(key):
        sub.found["GEO_COORDINATE"] = max(part.valid[a] for a in sub.axes)
    for entity, matched in sub.found.items():
        _embed(out, entity, min(matched + out.embedded.get(entity, 0), cells), entity in sub.masked)
        out.paths.setdefault(entity, []).append(path)


def _embed(out: Decision, entity: str, matched: int, masked: bool) -> None:
    if entity in out.found and entity not in out.embedded:
        return  # a whole-value entity already: its evidence stands
    out.found[entity] = matched
    out.embedded[entity] = matched
    if masked:
        out.masked.add(entity)
