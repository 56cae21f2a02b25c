"""Uniqueness of an ID column on the fast path (QUA-1): its int64 keys, counted by sorting.

numpy's sort of 10,000,000 int64 keys costs about 0.6 s on one core (its AVX-512
quicksort is slow on AMD Zen 4: a store it uses there is microcoded), and a run waited
for it after the fetch. So the keys are sorted in runs of RUN_ROWS while the fetch goes
on, on threads of their own, into one buffer, and without that quicksort: a key is
first mixed (times an odd constant modulo 2^64, one to one, so equal keys stay equal
and no others become so), the run put in order of the mixed keys' top bits (numpy's
stable argsort of 16-bit values is a radix sort), blocks of 256 sorted (a sorting
network, no partitioning), and timsort finishes what is then nearly sorted: about half
the time of the quicksort. At the end the runs are cut at one value (the median of
their medians) and the two sides merged on two threads (timsort finds the sorted runs:
one linear pass a level), each into its half of a new buffer: lower values first, so
the buffer is one sorted array. Whatever the data, the result is sorted (the last
step is a full sort); only the time depends on the mixing.

The parts keep their keys in file order as well, for the examples (the first row of a
repeated value); ``vector`` computes the keys, this module counts them.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from gongshu.quality.rules import EXAMPLES

# Keys sorted at a time, beside the fetch: about 0.03 s each at 1M (in cache); the last
# run is sorted after the fetch, so not much larger; a merge level is about 0.003 s a
# million keys.
RUN_ROWS = 1 << 20
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: a one-to-one map of 64-bit values
_UNMIX = np.uint64(pow(0x9E3779B97F4A7C15, -1, 1 << 64))
_BLOCK = 256  # what numpy's sort of a (k, 256) array's rows does with networks alone


class KeyRuns:
    """The keys of one uniqueness rule, sorted in runs as the parts arrive."""

    def __init__(self, rule_id: str, capacity: int) -> None:
        self.rule_id = rule_id
        self.buffer = np.empty(capacity, dtype=np.uint64)  # the mixed keys
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
            more = np.empty(end, dtype=np.uint64)
            self.buffer = np.concatenate([self.buffer[: self.filled], more])
        chunk, self.pending, self.pending_rows = self.pending, [], 0
        self.filled = end
        self.runs.append((start, end))
        self.jobs.append(self.sorter.submit(_sort_into, chunk, self.buffer[start:end]))

    def _wait(self) -> None:
        for job in self.jobs:
            job.result()
        self.jobs = []

    def ordered(self) -> np.ndarray:
        """All the keys mixed (``mix``), sorted."""
        self._flush()
        self._wait()
        keys = self.buffer[: self.filled]
        if len(self.runs) > 1:
            runs = [keys[a:b] for a, b in self.runs]
            medians = sorted(int(r[len(r) // 2]) for r in runs)
            cuts = [int(np.searchsorted(r, medians[len(medians) // 2])) for r in runs]
            out = np.empty(len(keys), dtype=np.uint64)
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


def mix(keys: np.ndarray) -> np.ndarray:
    """int64 keys as the uint64 values the runs sort (one to one)."""
    return keys.view(np.uint64) * _MIX


def unmix(values: np.ndarray) -> np.ndarray:
    return (values * _UNMIX).view(np.int64)


def _sort_into(chunk: list[np.ndarray], out: np.ndarray) -> None:
    """The chunk's keys, mixed, into ``out``, sorted (see the module's docstring)."""
    mixed = mix(np.concatenate(chunk))
    if len(mixed) < 4 * _BLOCK:
        out[:] = mixed
        out.sort()
        return
    bits = min(16, (len(mixed) // _BLOCK).bit_length() - 1)  # about a block a bucket
    bucket = (mixed >> np.uint64(64 - bits)).astype(np.uint16)
    np.take(mixed, np.argsort(bucket, kind="stable"), out=out)
    whole = len(out) // _BLOCK * _BLOCK
    out[:whole].reshape(-1, _BLOCK).sort(axis=1)
    out.sort(kind="stable")


def _merge_into(runs: list[np.ndarray], out: np.ndarray) -> None:
    """Sorted ``runs`` into ``out``, sorted (timsort merges the runs it finds)."""
    np.concatenate(runs, out=out)
    out.sort(kind="stable")


def count(rule: dict, parts: list, ordered: np.ndarray) -> tuple[int, int, list[dict]]:
    """Non-null values, extra copies, and the first repeated values by first row.

    ``ordered``: the mixed keys of every part, sorted (``KeyRuns.ordered``); the parts, in
    file order, are scanned for repeated keys only until EXAMPLES of them have been
    seen. The values that are not 17 digits and a check character (``Part.others``)
    are grouped with Arrow."""
    rid, c = rule["id"], rule["column"]
    same = ordered[1:] == ordered[:-1]
    extra = int(np.count_nonzero(same))
    total = len(ordered)
    found: list[tuple[int, str, int]] = []
    if extra:
        repeated = np.unique(unmix(ordered[1:][same]))
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
            value = mix(np.array([key], dtype=np.int64))[0]
            n = np.searchsorted(ordered, value, "right") - np.searchsorted(ordered, value, "left")
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
