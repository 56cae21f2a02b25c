"""Reach a target k by generalizing quasi-identifiers and suppressing rows (PIP-9).

Full-domain generalization: each quasi-identifier has a hierarchy of levels
(level 0 is the value itself, the top level is ``*``); the search walks the
lattice of level combinations and picks the one with the least information
loss that reaches ``k`` after dropping at most ``max_suppression`` of the rows
(those left in classes smaller than k).

Information loss is per cell, averaged over every quasi-identifier cell of the
table: a generalized cell loses ``level / top`` (Sweeney's precision metric),
a cell in a suppressed row loses 1. Because a node's loss is never below its
precision part, nodes are visited by increasing precision loss and the search
stops once no remaining node can beat the best found: the answer is optimal
for this metric, not a heuristic.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from gongshu.protect import operators as ops
from gongshu.protect.anonymity import AnonymityReport, measure, measure_counts, value_codes
from gongshu.protect.errors import InvalidParameter

Level = Callable[[pa.Array], pa.Array]
SUPPRESSED = "*"


@dataclass(frozen=True)
class Hierarchy:
    """Generalization steps of one column, finest first; ``*`` is added on top."""

    levels: tuple[Level, ...]

    @property
    def top(self) -> int:
        return len(self.levels) + 1

    def apply(self, values: pa.Array, level: int) -> pa.Array:
        if level == 0:
            return values.cast(pa.string())
        if level >= self.top:
            return pa.repeat(pa.scalar(SUPPRESSED), len(values))
        return self.levels[level - 1](values).cast(pa.string())


def bands(*widths: int, top: int | None = None) -> Hierarchy:
    """Numeric values (ages) to bands of growing width, e.g. ``bands(5, 10, 20)``."""
    return Hierarchy(tuple(lambda v, w=w: ops.age_band(v, w, top=top) for w in widths))


def prefixes(*lengths: int) -> Hierarchy:
    """Codes cut to shorter prefixes, e.g. region codes ``prefixes(4, 2)``."""
    return Hierarchy(tuple(lambda v, n=n: ops.truncate(v, n) for n in lengths))


def dates(*levels: str) -> Hierarchy:
    """Dates to month, then year: ``dates("month", "year")``."""
    return Hierarchy(tuple(lambda v, lv=lv: ops.generalize_date(v, lv) for lv in levels))


def flat() -> Hierarchy:
    """Only the value itself or ``*`` (gender, small categories)."""
    return Hierarchy(())


@dataclass(frozen=True)
class GeneralizationResult:
    table: pa.Table
    levels: dict[str, int]
    suppressed_rows: int
    loss: float
    precision_loss: float
    nodes_evaluated: int
    report: AnonymityReport

    def as_dict(self) -> dict:
        return {
            "levels": self.levels,
            "suppressed_rows": self.suppressed_rows,
            "loss": self.loss,
            "precision_loss": self.precision_loss,
            "nodes_evaluated": self.nodes_evaluated,
            "report": self.report.as_dict(),
        }


def _class_sizes(
    codes: Sequence[np.ndarray], cards: Sequence[int], weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Class id per row and class sizes for one lattice node (``weights``: the rows
    each row of a table of counts stands for)."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    radix = 1
    for c, m in zip(codes, cards, strict=True):
        key = key * m + c
        radix *= m
    if radix <= 4 * len(key) + 1024:
        sizes = np.bincount(key, weights=weights, minlength=radix)
        return key, sizes if weights is None else sizes.astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    inv = inv.reshape(-1)
    sizes = np.bincount(inv, weights=weights)
    return inv, sizes if weights is None else sizes.astype(np.int64)


def generalize(
    table: pa.Table,
    hierarchies: Mapping[str, Hierarchy],
    k: int,
    *,
    max_suppression: float = 0.02,
    sensitive: str | Sequence[str] | None = None,
) -> GeneralizationResult:
    """The least-loss generalization of ``hierarchies``' columns reaching ``k``.

    Rows left in classes smaller than ``k`` are dropped (at most
    ``max_suppression`` of them). The result carries the anonymity report
    of the released table (with l and t when ``sensitive`` is given).
    """
    return _generalize(table, hierarchies, k, max_suppression, sensitive, None)


def generalize_counts(
    counts: pa.Table,
    hierarchies: Mapping[str, Hierarchy],
    k: int,
    *,
    max_suppression: float = 0.02,
    sensitive: str | Sequence[str] | None = None,
    count_column: str = "count",
) -> GeneralizationResult:
    """``generalize`` of the table of which ``counts`` holds each distinct row and, in
    ``count_column``, how often it occurs: the same levels, suppression, loss and
    report (the cluster engine's merged counts, gongshu.spark). Its ``table`` is the
    released table's counts, generalized, without the suppressed rows."""
    weights = counts.column(count_column).to_numpy().astype(np.int64)
    return _generalize(counts, hierarchies, k, max_suppression, sensitive, (weights, count_column))


def _generalize(
    table: pa.Table,
    hierarchies: Mapping[str, Hierarchy],
    k: int,
    max_suppression: float,
    sensitive: str | Sequence[str] | None,
    counted: tuple[np.ndarray, str] | None,
) -> GeneralizationResult:
    weights = counted[0] if counted else None
    op = "generalize"
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidParameter(op, "k", f"须为正整数，收到 {k!r}")
    if not 0.0 <= max_suppression <= 1.0:
        raise InvalidParameter(op, "max_suppression", "须在 0 到 1 之间")
    if not hierarchies:
        raise InvalidParameter(op, "hierarchies", "至少需要一个准标识符的泛化层级")
    names = list(hierarchies)
    for name in names:
        if name not in table.column_names:
            raise InvalidParameter(op, "hierarchies", f"表中没有列 {name}")
    n = table.num_rows if weights is None else int(weights.sum())
    if n and k > n:
        raise InvalidParameter(op, "k", f"目标 k={k} 大于总行数 {n}")
    columns = {name: table.column(name).combine_chunks() for name in names}
    cache: dict[tuple[str, int], tuple[np.ndarray, int]] = {}

    def codes(name: str, level: int) -> tuple[np.ndarray, int]:
        if (name, level) not in cache:
            c, m = value_codes(hierarchies[name].apply(columns[name], level))
            cache[(name, level)] = (c, max(m, 1))
        return cache[(name, level)]

    tops = [hierarchies[name].top for name in names]
    nodes = sorted(
        itertools.product(*(range(t + 1) for t in tops)),
        key=lambda lv: (sum(x / t for x, t in zip(lv, tops, strict=True)), lv),
    )
    allowed = int(np.floor(max_suppression * n))
    best: tuple[float, float, tuple[int, ...], int] | None = None
    evaluated = 0
    for node in nodes:
        precision = sum(x / t for x, t in zip(node, tops, strict=True)) / len(names)
        if best is not None and precision >= best[0]:
            break
        evaluated += 1
        got = [codes(name, lv) for name, lv in zip(names, node, strict=True)]
        _, sizes = _class_sizes([g[0] for g in got], [g[1] for g in got], weights)
        dropped = int(sizes[(sizes > 0) & (sizes < k)].sum())
        if dropped > allowed:
            continue
        share = dropped / n if n else 0.0
        loss = share + (1.0 - share) * precision
        if best is None or loss < best[0]:
            best = (loss, precision, node, dropped)
    if best is None:
        raise InvalidParameter(
            op, "max_suppression", f"在允许删除 {allowed} 行的条件下无法达到 k={k}"
        )
    loss, precision, node, dropped = best
    got = [codes(name, lv) for name, lv in zip(names, node, strict=True)]
    cls, sizes = _class_sizes([g[0] for g in got], [g[1] for g in got], weights)
    keep = sizes[cls] >= k
    out = table
    for name, level in zip(names, node, strict=True):
        idx = out.column_names.index(name)
        out = out.set_column(idx, name, hierarchies[name].apply(columns[name], level))
    out = out.filter(pa.array(keep))
    if counted is None:
        report = measure(out, names, sensitive)
    else:
        report = measure_counts(out, names, sensitive, count_column=counted[1])
    return GeneralizationResult(
        table=out,
        levels=dict(zip(names, node, strict=True)),
        suppressed_rows=dropped,
        loss=float(loss),
        precision_loss=float(precision),
        nodes_evaluated=evaluated,
        report=report,
    )
