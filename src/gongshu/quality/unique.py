"""Uniqueness of an ID column on the fast path (QUA-1): its int64 keys, counted by sorting.

numpy's sort of 10,000,000 int64 keys costs about 0.6 s on one core (its AVX-512
quicksort is slow on AMD Zen 4: a store it uses there is microcoded), and a run waited
for it after the fetch. So the keys are sorted in runs of RUN_ROWS while the fetch goes
on, on threads of their own, into one buffer, and without that quicksort: a key is
first mixed (times an odd constant modulo 2^64, one to one, so equal keys stay equal
and no others become so), the run put in order of the mixed keys' top bits (numpy's
stable argsort of 16-bit values is a radix sort), blocks of 256 sorted (a sorting
network, no partitioning), and timsort finishes what is then nearly sorted: about half
the time of the quicksort. Each sorted run is cut at 2^63 (half the mixed values on
each side, whatever the keys), its lower side written at the front of the buffer and
its upper side at the back; at the end each side's runs are merged on a thread of
their own (timsort finds the sorted runs: one linear pass a level), in place, and the
buffer is one sorted array. Whatever the data, the result is sorted (each step ends in
a full sort); only the time depends on the mixing.

The parts keep their keys in file order as well, for the examples (the first row of a
repeated value); ``vector`` computes the keys, this module counts them.
"""

from __future__ import annotations

import threading
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
_BLOCK = 256  # rows numpy (x86-simd-sort) sorts with a sorting network alone, no partition
_TOP = np.uint64(1 << 63)  # the two sides of a run: below and from


class KeyRuns:
    """The keys of one uniqueness rule, sorted in runs as the parts arrive.

    A sorted run is cut where the mixed values' top bit turns 1: the lower side goes to
    the front of the buffer, the upper side to the back, so at the end each side is
    merged on its own thread, in place, and the two sides are one sorted array."""

    def __init__(self, rule_id: str, capacity: int) -> None:
        self.rule_id = rule_id
        self.buffer = np.empty(capacity, dtype=np.uint64)  # the mixed keys
        self.front, self.back = 0, capacity  # the lower side ends, the upper side starts
        self.lock = threading.Lock()
        self.sorter = ThreadPoolExecutor(2, thread_name_prefix="gs-keys")
        self.jobs: list[Future] = []
        self.pending: list[np.ndarray] = []
        self.pending_rows = 0
        self.filled = 0
        self.runs = 0

    def add(self, keys: np.ndarray) -> None:
        """The next part's keys (parts in file order)."""
        self.pending.append(keys)
        self.pending_rows += len(keys)
        if self.pending_rows >= RUN_ROWS:
            self._flush()

    def _flush(self, *, last: bool = False) -> None:
        if not self.pending_rows:
            return
        self.filled += self.pending_rows
        if self.filled > len(self.buffer):  # more keys than the rows counted at the start
            self._wait()
            self._grow(max(self.filled, 2 * len(self.buffer)))
        chunk, self.pending, self.pending_rows = self.pending, [], 0
        # the last run is waited for: its halves on both threads
        split = len(chunk) // 2 if last and len(chunk) > 1 else len(chunk)
        for part in (chunk[:split], chunk[split:]):
            if part:
                self.runs += 1
                self.jobs.append(self.sorter.submit(self._sort_run, part))

    def _grow(self, capacity: int) -> None:
        buffer = np.empty(capacity, dtype=np.uint64)
        buffer[: self.front] = self.buffer[: self.front]
        upper = len(self.buffer) - self.back
        buffer[capacity - upper :] = self.buffer[self.back :]
        self.buffer, self.back = buffer, capacity - upper

    def _sort_run(self, chunk: list[np.ndarray]) -> None:
        run = _sorted(chunk)
        cut = int(np.searchsorted(run, _TOP))
        with self.lock:
            lower, self.front = self.front, self.front + cut
            self.back -= len(run) - cut
            upper = self.back
        self.buffer[lower : lower + cut] = run[:cut]
        self.buffer[upper : upper + len(run) - cut] = run[cut:]

    def _wait(self) -> None:
        for job in self.jobs:
            job.result()
        self.jobs = []

    def repeats(self) -> tuple[np.ndarray, int, np.ndarray]:
        """All the keys mixed (``mix``) and sorted, the extra copies, and the values
        repeated (mixed, one per extra copy). Each side's runs are merged (timsort finds
        them) and its copies counted on a thread of its own: no key is on both sides."""
        self._flush(last=True)
        self._wait()
        lower, upper = self.buffer[: self.front], self.buffer[self.back :]
        merge = self.runs > 1
        job = self.sorter.submit(_merged_repeats, lower, merge)
        extra, repeated = _merged_repeats(upper, merge)
        low_extra, low_repeated = job.result()
        self.close()
        end = self.front + len(upper)
        if self.back > self.front:  # fewer keys than rows: the upper side moves down
            self.buffer[self.front : end] = upper
        return self.buffer[:end], extra + low_extra, np.concatenate([low_repeated, repeated])

    def close(self) -> None:
        self.sorter.shutdown(wait=True, cancel_futures=True)


def _merged_repeats(side: np.ndarray, merge: bool) -> tuple[int, np.ndarray]:
    if merge:
        side.sort(kind="stable")
    same = side[1:] == side[:-1]
    return int(np.count_nonzero(same)), side[1:][same]


def mix(keys: np.ndarray) -> np.ndarray:
    """int64 keys as the uint64 values the runs sort (one to one)."""
    return keys.view(np.uint64) * _MIX


def unmix(values: np.ndarray) -> np.ndarray:
    return (values * _UNMIX).view(np.int64)


def _sorted(chunk: list[np.ndarray]) -> np.ndarray:
    """The chunk's keys, mixed and sorted (see the module's docstring)."""
    mixed = np.concatenate(chunk).view(np.uint64)
    mixed *= _MIX
    if len(mixed) < 4 * _BLOCK:
        mixed.sort()
        return mixed
    bits = min(16, (len(mixed) // _BLOCK).bit_length() - 1)  # about a block a bucket
    bucket = (mixed >> np.uint64(64 - bits)).astype(np.uint16)
    run = np.take(mixed, np.argsort(bucket, kind="stable"))
    whole = len(run) // _BLOCK * _BLOCK
    run[:whole].reshape(-1, _BLOCK).sort(axis=1)
    run.sort(kind="stable")
    return run


def count(rule: dict, parts: list, keys: KeyRuns) -> tuple[int, int, list[dict]]:
    """Non-null values, extra copies, and the first repeated values by first row.

    ``keys``: the keys of every part (``KeyRuns.repeats``); the parts, in file order, are
    scanned for repeated keys only until EXAMPLES of them have been seen. The values
    that are not 17 digits and a check character (``Part.others``) are grouped with
    Arrow."""
    rid, c = rule["id"], rule["column"]
    ordered, extra, mixed = keys.repeats()
    total = len(ordered)
    found: list[tuple[int, str, int]] = []
    if extra:
        repeated = np.unique(unmix(mixed))
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
