"""Tracing a leaked file back to its delivery (issue 4 item 5; helpers of ``watermark.py``).

``read_bits`` reads every carrier bit of a leaked table through the same views and
anchors that ``embed`` used, merging the cells that share a slot by majority;
``attribute`` counts, for each candidate delivery, the bits it would have put
there, and names the best candidate only when its exact binomial p-value is at
most ``FAMILY_ALPHA / len(candidates)`` (the scheme is in ``watermark``'s
docstring). ``trace_file`` is what ``gongshu trace`` prints.

Two statistics are computed per candidate: the cell bits, and the row-order
bits (``watermark_rows``), which a shuffle turns into coins while a column
drop leaves them whole. For a delivery that is not the source both are
binomial and independent (different keyed functions of different inputs),
so the smaller p-value m is turned into ``1 - (1 - m)^2`` (Sidak), again a
p-value; the family bound ``FAMILY_ALPHA`` over all candidates holds.

**Dropped anchors** (``reference``). A carrier cell whose own value is not
distinctive is keyed on another column of its row (the rendezvous winner); a
leaker who drops that column turns the cell into a coin, and one who drops
the columns the row order is keyed on turns the order pairs into coins. With
``reference`` (the entry's rows as the door delivers them, unmarked or any
recipient's copy: only canonical values are used) ``restore`` matches each
leaked row to its nearest reference row (the most cells equal to it,
weighted by rarity, over every column both share; values held by more than
``MATCH_CAP`` reference rows do not vote) and gives it the reference's
values of the columns the leak lacks. Those columns then anchor cells and
rows again; they are never read as carriers. The columns the door never
marks (``unmarked``) are repaired the same way in matched rows: a credit code
or a date the leaker altered anchors its row again. The match depends on the leak
and the reference only, never on a candidate's keys, so for a delivery that
is not the source the bits stay independent fair coins and the bound holds;
a wrong match only makes coins of that row's bits.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect import watermark_channels as ch
from gongshu.protect import watermark_rows as rows_
from gongshu.protect.watermark import (
    _TOP,
    FAMILY_ALPHA,
    Mark,
    _Anchors,
    _bits,
    _columns,
    _flat,
    _key_name,
    _keys,
)

_CHUNK = 64  # candidates compared at once
MATCH_CAP = 16  # a value shared by more reference rows says little about which row it is


@dataclass
class Attribution:
    """``mark`` is None when no candidate passes the threshold; scores are -log10 p, best first."""

    mark: Mark | None
    confidence: float
    p_value: float
    matched_rows: int
    scores: list[tuple[Mark, float]] = field(default_factory=list)
    bits: int = 0  # independent slots read from the leak's cells
    order_pairs: int = 0  # row pairs read from the leak's order
    threshold: float = 0.0  # per-candidate p-value threshold used


def _pair(target: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    return ch.mix(target ^ ch.mix(anchor + np.uint64(0x9E3779B97F4A7C15))).ravel()


def _value_digests(table: pa.Table) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per column, (unkeyed digest of each cell's canonical value, cell present)."""
    cols = _columns(table)
    ch.compress_views([col.view for col in cols.values()])
    out = {}
    for name, col in cols.items():
        h1, h2, _ = col.view.compressed()
        digest = ch.mix(h1 ^ ch.name_word("value", name)) ^ h2
        out[name] = (col.rows(digest), col.rows(col.view.present))
    return out


def nearest_rows(leaked: pa.Table, reference: pa.Table, columns: Sequence[str]) -> np.ndarray:
    """Per leaked row, the reference row sharing the most (rarity-weighted) canonical values
    over ``columns``; -1 when none, or when two reference rows tie."""
    n, m = leaked.num_rows, reference.num_rows
    best = np.full(n, -1, np.int64)
    if not n or not m or not columns:
        return best
    mine, theirs = _value_digests(leaked.select(columns)), _value_digests(reference.select(columns))
    lefts, rights, weights = [], [], []
    for name in columns:
        if name not in mine or name not in theirs:
            continue
        (lv, lp), (rv, rp) = mine[name], theirs[name]
        at = np.flatnonzero(rp)
        order = np.argsort(rv[at], kind="stable")
        values, rows = rv[at][order], at[order]
        li = np.flatnonzero(lp)
        lo = np.searchsorted(values, lv[li], "left")
        cnt = np.searchsorted(values, lv[li], "right") - lo
        keep = (cnt > 0) & (cnt <= MATCH_CAP)
        li, lo, cnt = li[keep], lo[keep], cnt[keep]
        if not len(li):
            continue
        total = int(cnt.sum())
        offset = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        lefts.append(np.repeat(li, cnt))
        rights.append(rows[np.repeat(lo, cnt) + offset])
        weights.append(np.repeat(np.log2(1.0 + m / cnt), cnt))
    if not lefts:
        return best
    pair = np.concatenate(lefts) * m + np.concatenate(rights)
    uniq, inverse = np.unique(pair, return_inverse=True)
    score = np.bincount(inverse, weights=np.concatenate(weights), minlength=len(uniq))
    left, right = uniq // m, uniq % m
    order = np.lexsort((-score, left))  # per leaked row, best first
    left, right, score = left[order], right[order], score[order]
    first = np.flatnonzero(np.r_[True, left[1:] != left[:-1]])
    second = first + 1
    tied = (second < len(left)) & (left[np.minimum(second, len(left) - 1)] == left[first])
    tied &= score[np.minimum(second, len(left) - 1)] >= score[first]
    best[left[first[~tied]]] = right[first[~tied]]
    return best


def restore(
    leaked: pa.Table, reference: pa.Table, exact: Collection[str] = ()
) -> tuple[pa.Table, list[str]]:
    """The leak with the reference's columns it lacks, each row's values taken from its
    nearest reference row (``nearest_rows``; null when none), and their names.

    ``exact`` columns (never marked: the reference holds the values delivered) are
    repaired too: a matched row takes the reference's value, so a value the leaker
    altered anchors its row again."""
    missing = [c for c in reference.column_names if c not in leaked.column_names]
    shared = [c for c in reference.column_names if c in leaked.column_names]
    repair = [c for c in shared if c in exact]
    if not (missing or repair) or not shared or not leaked.num_rows:
        return leaked, []
    match = nearest_rows(leaked, reference, shared)
    index = pa.array(match, mask=match < 0)
    out = leaked
    for name in repair:
        mine, theirs = _flat(leaked.column(name)), reference.column(name).take(index)
        if mine.type != theirs.type:
            mine, theirs = pc.cast(mine, pa.string()), pc.cast(theirs, pa.string())
        fixed = pc.if_else(pa.array(match >= 0), theirs, mine)
        out = out.set_column(out.schema.get_field_index(name), name, fixed)
    for name in missing:
        out = out.append_column(name, reference.column(name).take(index))
    return out, missing


def read_bits(
    leaked: pa.Table,
    key: bytes,
    *,
    original: pa.Table | None = None,
    unmarked: Collection[str] = (),
) -> tuple[np.ndarray, np.ndarray, int]:
    """(slots, majority bit per slot, rows carrying a bit) read from a leaked table.

    With ``original``, a cell counts only when its canonical value and its
    anchor's occur together in one original row: altered cells are dropped.
    ``unmarked`` columns (the door never marks them: identifiers, integers,
    dates) are read as anchors only; their cells would be coins.
    """
    return _read(leaked, key, original, unmarked)[:3]


def _read(
    leaked: pa.Table, key: bytes, original: pa.Table | None, unmarked: Collection[str] = ()
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray]:
    """``read_bits``, then the (earlier, later) row digests of the leak's row pairs."""
    keys = _keys(key)
    cols = _columns(leaked)
    anchors = _Anchors(cols, keys, leaked.num_rows)
    earlier, later = rows_.order_pairs(*anchors.row_digest())
    pairs = None
    if original is not None:
        common = [c for c in original.column_names if c in cols]
        ref = _Anchors(_columns(original.select(common)), keys, original.num_rows)
        anchor_ok = ref.eligible.ravel()
        pairs = np.unique(np.concatenate([_pair(row, ref.digest)[anchor_ok] for row in ref.value]))
    slots, bits = [], []
    hit = np.zeros(leaked.num_rows, bool)
    rows = np.arange(leaked.num_rows)
    for i, name in enumerate(anchors.names):
        bit = cols[name].rows(cols[name].view.bit)
        sel = bit >= 0
        if not sel.any() or _key_name(name) or name in unmarked:  # never marked: no evidence
            continue
        slot, ok, _, other = anchors.slots(name)
        sel &= ok
        if pairs is not None:
            # the cell's value must sit with another distinctive value of its row in one
            # original row: values altered or swapped after delivery are dropped
            checkable = anchors.eligible[other, rows] & (other != i)
            pair = _pair(anchors.value[i], anchors.digest[other, rows])
            sel &= ~checkable | np.isin(pair, pairs)
        slots.append(slot[sel])
        bits.append(bit[sel])
        hit |= sel
    if not slots:
        return np.zeros(0, np.uint64), np.zeros(0, np.int8), 0, earlier, later
    uniq, inverse = np.unique(np.concatenate(slots), return_inverse=True)
    ones = np.bincount(inverse, weights=np.concatenate(bits), minlength=len(uniq))
    count = np.bincount(inverse, minlength=len(uniq))
    decided = 2 * ones != count  # ties carry no evidence
    majority = (2 * ones > count).astype(np.int8)
    return uniq[decided], majority[decided], int(hit.sum()), earlier, later


def attribute(
    leaked: pa.Table,
    candidates: Sequence[Mark],
    key: bytes,
    *,
    original: pa.Table | None = None,
    unmarked: Collection[str] = (),
    reference: pa.Table | None = None,
) -> Attribution:
    """Which candidate delivery ``leaked`` comes from, with a binomial p-value.

    Works on the leak alone (``original=None``): rows may be a subset in any
    order, columns dropped or reordered, numbers turned into text. The best
    candidate is named only when its p-value is at most
    ``FAMILY_ALPHA / len(candidates)``; otherwise ``mark`` is None.
    ``unmarked``: columns never marked (see ``read_bits``). ``reference``: the
    entry's rows as delivered, to restore the columns the leak lacks (``restore``).
    """
    keys = _keys(key)
    if reference is not None:
        leaked, restored = restore(leaked, reference, unmarked)
        unmarked = {*unmarked, *restored}
    slots, observed, matched_rows, earlier, later = _read(leaked, key, original, unmarked)
    n, n_order = len(slots), len(earlier)
    marks = list(candidates)
    threshold = FAMILY_ALPHA / max(len(marks), 1)
    if not marks:
        return Attribution(None, 0.0, 1.0, matched_rows, [], n, n_order, threshold)
    words = np.array([keys.words(m) for m in marks], dtype=np.uint64)
    agree = np.zeros(len(marks), np.int64)
    for lo in range(0, len(marks), _CHUNK):
        w = words[lo : lo + _CHUNK]
        expected = (_bits(slots[None, :], w[:, :1], w[:, 1:]) >> _TOP).astype(np.int8)
        agree[lo : lo + _CHUNK] = (expected == observed[None, :]).sum(axis=1)
    log_p = ch.log_sf_half(n)[agree]
    if n_order:  # the cells or the row order, whichever says more (Sidak over the two)
        by_order = ch.log_sf_half(n_order)[rows_.order_agreements(earlier, later, words)]
        log_p = _sidak(np.minimum(log_p, by_order)) if n else by_order
    order = np.argsort(log_p, kind="stable")
    scores = [(marks[i], float(-log_p[i] / math.log(10))) for i in order]
    best = int(order[0])
    p = float(math.exp(log_p[best]))
    confidence = max(0.0, 1.0 - p * len(marks))
    mark = marks[best] if log_p[best] <= math.log(threshold) else None
    return Attribution(mark, confidence, p, matched_rows, scores, n, n_order, threshold)


def _sidak(log_m: np.ndarray) -> np.ndarray:
    """log(1 - (1 - m)^2): the p-value of the smaller of two independent p-values m."""
    m = np.exp(np.maximum(log_m, -700.0))
    exact = np.log(-np.expm1(2.0 * np.log1p(-np.minimum(m, 1.0))))
    return np.where(log_m < -30.0, log_m + math.log(2.0), exact)  # (m^2 is below 1e-26)


def read_leak(path: str | Path) -> pa.Table:
    """A leaked CSV, XLSX or Parquet file as one table (CSV/XLSX values as text)."""
    from gongshu.tabular import open_table

    stream = open_table(path)
    batches = list(stream.batches)
    if not batches:
        return pa.table({name: pa.array([], pa.string()) for name in stream.columns})
    return pa.Table.from_batches(batches)


def trace_file(
    path: str | Path | pa.Table,
    candidates: Sequence[Mark],
    key: bytes,
    *,
    unmarked: Collection[str] = (),
    reference: pa.Table | None = None,
) -> dict[str, Any]:
    """JSON-able verdict for ``gongshu trace LEAKED_FILE --json`` (``path``: the file, or
    the table ``read_leak`` made of it; ``reference``: see ``attribute``)."""
    leaked = path if isinstance(path, pa.Table) else read_leak(path)
    result = attribute(leaked, candidates, key, unmarked=unmarked, reference=reference)
    top = [
        {
            "recipient": m.recipient,
            "delivery_id": m.delivery_id,
            "entry_id": m.entry_id,
            "score": round(score, 2),
        }
        for m, score in result.scores[:5]
    ]
    return {
        "attributed": result.mark is not None,
        "recipient": result.mark.recipient if result.mark else None,
        "delivery_id": result.mark.delivery_id if result.mark else None,
        "entry_id": result.mark.entry_id if result.mark else None,
        "confidence": result.confidence,
        "p_value": result.p_value,
        "log10_p_value": -top[0]["score"] if top else 0.0,
        "threshold": result.threshold,
        "bits": result.bits,
        "order_pairs": result.order_pairs,
        "matched_rows": result.matched_rows,
        "candidates": top,
    }
