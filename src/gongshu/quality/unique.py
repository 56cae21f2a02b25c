"""Uniqueness of an ID column on the fast path (QUA-1): its int64 keys, counted by sorting.

numpy's sort of 10,000,000 int64 keys costs about 0.6 s on one core (its AVX-512 kernel
is slow on AMD Zen 4), and a run waited for it after the fetch. So the keys are sorted
in runs of RUN_ROWS while the fetch goes on, on threads of their own, into one buffer.
At the end the runs are cut at one value (the median of their medians) and the two
sides merged on two threads (timsort finds the sorted runs: one linear pass a level),
each into its half of a new buffer: lower keys first, so the buffer is one sorted
array. The count is that of one sort of all the keys; the order of the work is all
that changed (and, for a moment at the end, the keys are held twice).

The parts keep their keys in file order as well, for the examples (the first row of a
repeated value); ``vector`` computes the keys, this module counts them.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from gongshu.quality.rules import EXAMPLES

# Keys sorted at a time, beside the fetch: about 0.05 s each at 1M; the last run is
# sorted after the fetch, so not much larger; a merge level is about 0.003 s a million.
RUN_ROWS = 1 << 20


class KeyRuns:
    """The keys of one uniqueness rule, sorted in runs as the parts arrive."""

    def __init__(self, rule_id: str, capacity: int) -> None:
        self.rule_id = rule_id
        self.buffer = np.empty(capacity, dtype=np.int64)
        self.sorter = ThreadPoolExecutor(2, thread_name_prefix="gs-keys")
        self.runs: list[tuple[int, int]] = []  # (start, end) in ``buffer``
        self.jobs: list[Future] = []
        self.pending: list[np.ndarray] = []
        self.pending_rows = 0
        self.filled = 0

    def add(self, keys: np.ndarray) -> None:
        """The next part's keys (parts in file order)."""
        self.pending.append(keys)
        self.pending_rows += len(keys)
        if self.pending_rows >= RUN_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.pending_rows:
            return
        start, end = self.filled, self.filled + self.pending_rows
        if end > len(self.buffer):  # more keys than the rows counted at the start
            self._wait()
            self.buffer = np.concatenate([self.buffer[: self.filled], np.empty(end, np.int64)])
        chunk, self.pending, self.pending_rows = self.pending, [], 0
        self.filled = end
        self.runs.append((start, end))
        self.jobs.append(self.sorter.submit(_sort_into, chunk, self.buffer[start:end]))

    def _wait(self) -> None:
        for job in self.jobs:
            job.result()
        self.jobs = []

    def ordered(self) -> np.ndarray:
        """All the keys, sorted."""
        self._flush()
        self._wait()
        keys = self.buffer[: self.filled]
        if len(self.runs) > 1:
            runs = [keys[a:b] for a, b in self.runs]
            medians = sorted(int(r[len(r) // 2]) for r in runs)
            cuts = [int(np.searchsorted(r, medians[len(medians) // 2])) for r in runs]
            out = np.empty(len(keys), dtype=np.int64)
            low = sum(cuts)
            lower = self.sorter.submit(
                _merge_into, [r[:c] for r, c in zip(runs, cuts, strict=True)], out[:low]
            )
            _merge_into([r[c:] for r, c in zip(runs, cuts, strict=True)], out[low:])
            lower.result()
            keys = self.buffer = out
        self.close()
        return keys

    def close(self) -> None:
        self.sorter.shutdown(wait=True, cancel_futures=True)


def _sort_into(chunk: list[np.ndarray], out: np.ndarray) -> None:
    np.concatenate(chunk, out=out)
    out.sort()


def _merge_into(runs: list[np.ndarray], out: np.ndarray) -> None:
    """Sorted ``runs`` into ``out``, sorted (timsort merges the runs it finds)."""
    np.concatenate(runs, out=out)
    out.sort(kind="stable")


def count(rule: dict, parts: list, ordered: np.ndarray) -> tuple[int, int, list[dict]]:
    """Non-null values, extra copies, and the first repeated values by first row.

    ``ordered``: the sorted keys of every part (``KeyRuns.ordered``); the parts, in
    file order, are scanned for repeated keys only until EXAMPLES of them have been
    seen. The values that are not 17 digits and a check character (``Part.others``)
    are grouped with Arrow."""
    rid, c = rule["id"], rule["column"]
    same = ordered[1:] == ordered[:-1]
    extra = int(np.count_nonzero(same))
    total = len(ordered)
    found: list[tuple[int, str, int]] = []
    if extra:
        repeated = np.unique(ordered[1:][same])
        first: dict[int, int] = {}
        for p in parts:
            keys, start, at = p.keys[rid]  # ``at``: the keys' positions, None for all
            pos = np.minimum(np.searchsorted(repeated, keys), len(repeated) - 1)
            for j in np.flatnonzero(repeated[pos] == keys):
                first.setdefault(int(keys[j]), start + int(j if at is None else at[j]))
                if len(first) == EXAMPLES:
                    break
            if len(first) == EXAMPLES:
                break
        for key, row in first.items():
            n = np.searchsorted(ordered, key, "right") - np.searchsorted(ordered, key, "left")
            found.append((row, f"{key >> 6:017d}" + chr((key & 63) + 48), int(n)))
    others = [p.others[rid] for p in parts if rid in p.others]
    if others:
        values = pa.concat_arrays([o[0] for o in others])
        grouped = (
            pa.table({"v": values, "r": np.concatenate([o[1] for o in others])})
            .group_by("v")
            .aggregate([("r", "min"), ("r", "count")])
        )
        total += len(values)
        n = grouped.column("r_count").to_numpy()
        extra += int((n - 1).sum())
        dup = np.flatnonzero(n > 1)
        if len(dup):
            mins = grouped.column("r_min").to_numpy()[dup]
            pick = dup[np.argsort(mins, kind="stable")[:EXAMPLES]]
            vals = grouped.column("v").take(pa.array(pick)).to_pylist()
            firsts = grouped.column("r_min").to_numpy()[pick]
            found += [(int(r), v, int(n[j])) for r, v, j in zip(firsts, vals, pick, strict=True)]
    found.sort(key=lambda t: t[0])
    examples = [{"gs_row": r, c: v, "重复次数": k} for r, v, k in found[:EXAMPLES]]
    return total, extra, examples
