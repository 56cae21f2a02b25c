"""Measure re-identification risk: k-anonymity, l-diversity, t-closeness (PIP-9, AGG-5).

``measure`` works on an Arrow table with numpy only (no Python call per row
or per equivalence class, except the per-chunk loop of the ordered t-closeness).
Definitions follow the pycanon package, which the tests use as an oracle:

- k: size of the smallest equivalence class (rows equal on every quasi-identifier);
- l: the fewest distinct sensitive values within one class (distinct l-diversity);
- t: the largest Earth Mover's Distance between a class's sensitive-value
  distribution and the whole table's; ordered distance for numeric
  attributes, equal distance for the others.

With several sensitive attributes, l is the minimum and t the maximum over
them. A null is a value of its own in quasi-identifiers and sensitive
attributes alike (pandas, and so pycanon, would silently drop those rows,
which understates risk).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect.errors import InvalidParameter

# Cells of the dense class x value matrix built at once for ordered t-closeness.
_DENSE_CELLS = 4_000_000


@dataclass(frozen=True)
class AnonymityReport:
    """What an attacker holding the quasi-identifiers could learn from a table."""

    rows: int
    quasi_identifiers: tuple[str, ...]
    sensitive: tuple[str, ...]
    k: int
    l: int | None  # noqa: E741 - the name the literature uses
    t: float | None
    equivalence_classes: int
    class_sizes: np.ndarray = field(repr=False, compare=False)

    @property
    def max_risk(self) -> float:
        """Prosecutor risk of the most exposed row: 1/k."""
        return 1.0 / self.k if self.k else 1.0

    @property
    def average_risk(self) -> float:
        """Mean re-identification probability over rows: classes/rows."""
        return self.equivalence_classes / self.rows if self.rows else 0.0

    def rows_below(self, k: int) -> int:
        """Rows in classes smaller than ``k`` (what suppression to reach k would drop)."""
        return int(self.class_sizes[self.class_sizes < k].sum())

    def satisfies(
        self,
        *,
        k: int | None = None,
        l: int | None = None,  # noqa: E741
        t: float | None = None,
    ) -> bool:
        """True when every given target is met (k and l at least, t at most)."""
        if k is not None and self.k < k:
            return False
        if l is not None and (self.l is None or self.l < l):
            return False
        return not (t is not None and (self.t is None or self.t > t))

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "quasi_identifiers": list(self.quasi_identifiers),
            "sensitive": list(self.sensitive),
            "k": self.k,
            "l": self.l,
            "t": self.t,
            "equivalence_classes": self.equivalence_classes,
            "max_risk": self.max_risk,
            "average_risk": self.average_risk,
        }


def _column(table: pa.Table, name: str, param: str) -> pa.Array:
    if name not in table.column_names:
        raise InvalidParameter("measure", param, f"表中没有列 {name}")
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _is_numeric(arr: pa.Array) -> bool:
    t = arr.type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def value_codes(arr: pa.Array) -> tuple[np.ndarray, int]:
    """Integer code per row and the number of codes, in value order (nulls last)."""
    if _is_numeric(arr):
        valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
        nums = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        uniq, inv = np.unique(nums[valid], return_inverse=True)
        codes = np.full(len(arr), len(uniq), dtype=np.int64)  # nulls sort last
        codes[valid] = inv
        return codes, len(uniq) + int((~valid).any())
    encoded = pc.dictionary_encode(arr, null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    try:  # codes in value order (null last), not order of appearance: the report is
        # then the same whatever the row order (and for a table of counts, gongshu.spark)
        order = pc.array_sort_indices(encoded.dictionary, null_placement="at_end")
    except pa.ArrowNotImplementedError:  # a type without an order: appearance it is
        return codes, len(encoded.dictionary)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order.to_numpy(zero_copy_only=False)] = np.arange(len(order), dtype=np.int64)
    return rank[codes], len(encoded.dictionary)


def class_ids(
    table: pa.Table, quasi_identifiers: Sequence[str], weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Equivalence-class id per row and the size of each class (``weights``: how many
    rows each row stands for, as in a table of counts)."""
    n = table.num_rows
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    stacked: list[np.ndarray] = []
    for name in quasi_identifiers:
        codes, m = value_codes(_column(table, name, "quasi_identifiers"))
        stacked.append(codes)
        m = max(m, 1)
        if radix * m < 2**62:
            key = key * m + codes
            radix *= m
        else:  # too many combinations for one int64: fall back to row-wise unique
            radix = 0
            break
    if radix == 0:
        _, inv = np.unique(np.stack(stacked, axis=1), axis=0, return_inverse=True)
        inv = inv.reshape(-1)
    else:
        _, inv = np.unique(key, return_inverse=True)
    if not n:
        sizes = np.zeros(0, dtype=np.int64)
    elif weights is None:
        sizes = np.bincount(inv)
    else:
        sizes = np.bincount(inv, weights=weights).astype(np.int64)
    return inv.astype(np.int64), sizes


def _l_and_t(
    cls: np.ndarray, sizes: np.ndarray, arr: pa.Array, weights: np.ndarray | None = None
) -> tuple[int, float]:
    sa, m = value_codes(arr)
    if weights is None:
        n = len(sa)
        pairs, counts = np.unique(cls * m + sa, return_counts=True)
        p = np.bincount(sa, minlength=m) / n
    else:  # counts exact in float64 (< 2**53 rows): the same p and q as row by row
        n = int(sizes.sum())
        pairs, inverse = np.unique(cls * m + sa, return_inverse=True)
        counts = np.bincount(inverse.reshape(-1), weights=weights).astype(np.int64)
        p = np.bincount(sa, weights=weights, minlength=m) / n
    pair_class, pair_value = pairs // m, pairs % m
    distinct = np.bincount(pair_class, minlength=len(sizes))
    q = counts / sizes[pair_class]
    if m <= 1:
        return int(distinct.min()), 0.0
    if not _is_numeric(arr):
        # Equal distance: 0.5 * sum |q - p|, absent values contributing p.
        per_class = 0.5 * (
            1.0
            + np.bincount(
                pair_class, weights=np.abs(q - p[pair_value]) - p[pair_value], minlength=len(sizes)
            )
        )
        return int(distinct.min()), float(per_class.max())
    # Ordered distance: mean absolute cumulative difference, dense per chunk of classes.
    worst = 0.0
    chunk = max(1, _DENSE_CELLS // m)
    pair_start = np.searchsorted(pair_class, np.arange(0, len(sizes) + chunk, chunk))
    for c0 in range(0, len(sizes), chunk):
        c1 = min(c0 + chunk, len(sizes))
        lo, hi = pair_start[c0 // chunk], pair_start[c0 // chunk + 1]
        dense = np.zeros((c1 - c0, m))
        dense[pair_class[lo:hi] - c0, pair_value[lo:hi]] = q[lo:hi]
        emd = np.abs(np.cumsum(dense - p, axis=1)).sum(axis=1) / (m - 1)
        worst = max(worst, float(emd.max()))
    return int(distinct.min()), worst


def attributes(
    quasi_identifiers: Sequence[str], sensitive: str | Sequence[str] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The quasi-identifiers and sensitive attributes of a request, or the error a
    request without a quasi-identifier, or with a column in both, gets."""
    qi = tuple(quasi_identifiers)
    if not qi:
        raise InvalidParameter("measure", "quasi_identifiers", "至少需要一个准标识符列")
    sens = (sensitive,) if isinstance(sensitive, str) else tuple(sensitive or ())
    for name in sens:
        if name in qi:
            raise InvalidParameter(
                "measure", "sensitive", f"列 {name} 不能既是准标识符又是敏感属性"
            )
    return qi, sens


def measure(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    sensitive: str | Sequence[str] | None = None,
) -> AnonymityReport:
    """k, l and t of ``table`` for the given quasi-identifiers and sensitive attributes."""
    return _measure(table, quasi_identifiers, sensitive, None)


def measure_counts(
    counts: pa.Table,
    quasi_identifiers: Sequence[str],
    sensitive: str | Sequence[str] | None = None,
    *,
    count_column: str = "count",
) -> AnonymityReport:
    """``measure`` of the table of which ``counts`` holds each distinct row (quasi-
    identifiers and sensitive attributes) and, in ``count_column``, how often it occurs,
    in any order: the same report as ``measure`` of the rows (the cluster engine
    merges partial counts into such a table, gongshu.spark)."""
    weights = counts.column(count_column).to_numpy().astype(np.int64)
    return _measure(counts.drop_columns([count_column]), quasi_identifiers, sensitive, weights)


def _measure(
    table: pa.Table,
    quasi_identifiers: Sequence[str],
    sensitive: str | Sequence[str] | None,
    weights: np.ndarray | None,
) -> AnonymityReport:
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    qi, sens = attributes(quasi_identifiers, sensitive)
    cls, sizes = class_ids(table, qi, weights)
    n = table.num_rows if weights is None else int(sizes.sum())
    if n == 0:
        return AnonymityReport(0, qi, sens, 0, None, None, 0, sizes)
    l_value: int | None = None
    t_value: float | None = None
    for name in sens:
        lv, tv = _l_and_t(cls, sizes, _column(table, name, "sensitive"), weights)
        l_value = lv if l_value is None else min(l_value, lv)
        t_value = tv if t_value is None else max(t_value, tv)
    return AnonymityReport(
        rows=n,
        quasi_identifiers=qi,
        sensitive=sens,
        k=int(sizes.min()),
        l=l_value,
        t=t_value,
        equivalence_classes=len(sizes),
        class_sizes=sizes,
    )
