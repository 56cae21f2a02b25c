"""Watermark benchmark: attribution under attack through the egress door, speed, innocence.

    .venv/bin/python benchmarks/bench_watermark.py door [--entries qydj,yljg,spjy]
        [--rows 3000] [--trials 300] [--xlsx-trials 30] [--candidates 100]
        [--innocent-trials 100]
    .venv/bin/python benchmarks/bench_watermark.py synthetic [--rows 1000000] [--trials 300]
        [--xlsx-trials 100] [--innocent-trials 1000] [--candidates 1000]

``door`` (issue 16 item 9): a throwaway instance gets the demo province's
organizations and the chosen entries, loaded through the real load path;
each trial is a fresh open delivery (open policy, row IDs, as the open API
pages it) through ``egress.deliver`` to a fresh user, attacked every way
below, each leak traced against ``--candidates`` deliveries (the true one,
the 20 deliveries before it to other users, fresh marks) with the columns the
door never marks as anchors only, as ``gongshu trace`` does, and a reference copy
of the rows (delivered to someone who is never a candidate) that gives dropped
columns back and repairs altered exact values (``attribute(reference=)``). Attacks: a 10%
subset (delivered order); 20% of values altered; each single column dropped
(trial i drops column i mod C); two columns dropped (every pair in turn);
numbers rounded to 2 decimals and dates rewritten as a spreadsheet saves
them; rows and columns shuffled; CSV to XLSX; all at once (10%, 20% altered,
one random column dropped, spreadsheet, shuffled, XLSX); and two recipients'
copies merged row by row (half from each). Innocence: the copy of someone
who is not a candidate, traced against ``--candidates`` x 10 fresh marks.

``synthetic`` (issue 4 item 5): a fresh 5,000-row masked table (names, masked
IDs and phones, masked e-mails and addresses, dates, date-times, amounts,
counts, coordinates) per trial, delivered to a fresh recipient, attacked,
then traced against the true delivery plus ``--candidates`` innocent ones.
Innocence trials: a 10% leak of a delivery to someone who is NOT among the
candidates, traced against ``--candidates`` fresh innocent deliveries; every
innocent p-value is kept. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import math
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "protect"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from test_watermark import alter_values, csv_to_xlsx, make_table, sample_rows  # noqa: E402

from gongshu.protect.watermark import FAMILY_ALPHA, Mark, embed  # noqa: E402
from gongshu.protect.watermark_trace import attribute  # noqa: E402

KEY = secrets.token_bytes(32)


def fresh_mark(entry: int = 12) -> Mark:
    return Mark(f"user:{secrets.randbelow(10**9)}", secrets.token_hex(8), entry)


def speed(rows: int) -> dict:
    table = make_table(rows, seed=99)
    mark = fresh_mark()
    t0 = time.perf_counter()
    marked = embed(table, mark, KEY)
    whole = time.perf_counter() - t0
    t0 = time.perf_counter()
    for batch in table.to_batches(max_chunksize=65536):
        embed(pa.Table.from_batches([batch]), mark, KEY)
    batched = time.perf_counter() - t0
    leak = sample_rows(marked, 0.1, seed=1)
    candidates = [mark] + [fresh_mark() for _ in range(999)]
    t0 = time.perf_counter()
    result = attribute(leak, candidates, KEY)
    traced = time.perf_counter() - t0
    assert result.mark == mark
    return {
        "rows": rows,
        "columns": table.num_columns,
        "embed_whole_s": round(whole, 2),
        "embed_65536_row_batches_s": round(batched, 2),
        "trace_10pct_leak_1000_candidates_s": round(traced, 2),
        "leak_rows": leak.num_rows,
        "leak_bits": result.bits,
    }


def attack(name: str, delivered: pa.Table, seed: int, tmp: Path) -> pa.Table:
    if name == "10% of rows":
        return sample_rows(delivered, 0.10, seed)
    if name == "20% of values altered":
        return alter_values(delivered, 0.20, seed)
    if name == "columns dropped and reordered":
        r = np.random.default_rng(seed)
        keep = r.choice(delivered.column_names, 7, replace=False)  # 6 of 13 dropped, shuffled
        return delivered.select(list(keep))
    if name == "CSV to XLSX":
        return csv_to_xlsx(delivered, tmp)
    if name == "all four at once":
        leak = alter_values(sample_rows(delivered, 0.10, seed), 0.20, seed + 1)
        r = np.random.default_rng(seed)
        return csv_to_xlsx(leak.select(list(r.choice(leak.column_names, 7, replace=False))), tmp)
    if name == "text columns only, 10% of rows":
        text = delivered.select(["姓名", "sfzh", "mobile", "email", "地址", "xb"])
        return sample_rows(text, 0.10, seed)
    raise ValueError(name)


def attacks(trials: int, xlsx_trials: int, n_candidates: int) -> dict:
    out = {}
    names = [
        "10% of rows",
        "20% of values altered",
        "columns dropped and reordered",
        "CSV to XLSX",
        "all four at once",
        "text columns only, 10% of rows",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            n = xlsx_trials if "XLSX" in name or "four" in name else trials
            right, worst, bits, t0 = 0, math.inf, [], time.perf_counter()
            for i in range(n):
                mark = fresh_mark()
                table = make_table(5000, seed=1000 + i)
                if name.startswith("text"):
                    table = table.select(["姓名", "sfzh", "mobile", "email", "地址", "xb"])
                leak = attack(name, embed(table, mark, KEY), seed=i, tmp=Path(tmp))
                candidates = [fresh_mark() for _ in range(n_candidates)] + [mark]
                result = attribute(leak, candidates, KEY)
                right += result.mark == mark
                true_score = next(s for m, s in result.scores if m == mark)
                worst = min(worst, true_score)
                bits.append(result.bits)
            out[name] = {
                "trials": n,
                "right": right,
                "rate": right / n,
                "worst_true_minus_log10_p": round(worst, 1),
                "median_bits": int(np.median(bits)),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(name, out[name], file=sys.stderr)
    return out


def innocence(trials: int, n_candidates: int) -> dict:
    threshold = FAMILY_ALPHA / n_candidates
    tables = [make_table(5000, seed=5000 + i) for i in range(10)]
    named, log_p, bits, t0 = 0, [], [], time.perf_counter()
    for i in range(trials):
        outsider = fresh_mark()
        leak = sample_rows(embed(tables[i % 10], outsider, KEY), 0.10, seed=i)
        result = attribute(leak, [fresh_mark() for _ in range(n_candidates)], KEY)
        named += result.mark is not None
        log_p.extend(-s for _, s in result.scores)
        bits.append(result.bits)
    lp = np.array(log_p)
    return {
        "trials": trials,
        "innocent_candidates_per_trial": n_candidates,
        "innocent_tests": int(lp.size),
        "per_candidate_threshold": threshold,
        "family_alpha": FAMILY_ALPHA,
        "trials_with_a_false_attribution": named,
        "innocent_p_below_threshold": int(np.sum(lp <= math.log10(threshold))),
        "share_p_le_0.01": float(np.mean(lp <= -2)),
        "share_p_le_0.001": float(np.mean(lp <= -3)),
        "smallest_innocent_p": float(10 ** lp.min()),
        "median_bits": int(np.median(bits)),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", nargs="?", choices=["door", "synthetic"], default="door")
    ap.add_argument("--entries", default="qydj,yljg,spjy")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--xlsx-trials", type=int, default=None)
    ap.add_argument("--innocent-trials", type=int, default=None)
    ap.add_argument("--candidates", type=int, default=None)
    args = ap.parse_args()
    if args.mode == "door":
        from watermark_door import run

        report = run(
            args.entries.split(","),
            rows=args.rows or 3000,
            trials=args.trials,
            xlsx_trials=args.xlsx_trials or 30,
            n_candidates=args.candidates or 100,
            innocent_trials=args.innocent_trials or 100,
        )
    else:
        candidates = args.candidates or 1000
        report = {
            "speed": speed(args.rows or 1_000_000),
            "attacks": attacks(args.trials, args.xlsx_trials or 100, candidates),
            "innocence": innocence(args.innocent_trials or 1000, candidates),
        }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
