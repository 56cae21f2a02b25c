"""Benchmark: k-anonymity measurement and automatic generalization (issue 4 item 7).

    .venv/bin/python benchmarks/bench_anonymity.py --rows 1000000

A generated table of 1,000,000 rows x 5 quasi-identifiers (age, gender, county
code, postcode-like area code, registration date) and one sensitive attribute.
In the same run:

- gongshu.protect.anonymity.measure: k, then k + l + t;
- pycanon (the reference implementation the tests use as an oracle):
  k_anonymity on the same data, and l_diversity on a 100,000-row slice
  (pycanon's l_diversity on 1,000,000 rows takes minutes);
- gongshu.protect.generalization.generalize to k=10 with at most 1% suppression.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa


def make_table(rows: int, seed: int = 11) -> pa.Table:
    rng = np.random.default_rng(seed)
    counties = np.array(["360102", "360103", "360104", "360111", "360702", "360703"])
    return pa.table(
        {
            "年龄": rng.integers(0, 100, rows),
            "性别": np.array(["男", "女"])[rng.integers(0, 2, rows)],
            "区县": counties[rng.integers(0, len(counties), rows)],
            "片区": np.char.add("A", rng.integers(0, 40, rows).astype(str)),
            "登记日期": (np.datetime64("2024-01-01") + rng.integers(0, 365, rows)).astype(str),
            "诊断": np.array(["高血压", "糖尿病", "冠心病", "哮喘", "肺炎"])[
                rng.integers(0, 5, rows)
            ],
        }
    )


def timed(fn):  # noqa: ANN001, ANN201
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from pycanon import anonymity as canon

    from gongshu.protect.anonymity import measure
    from gongshu.protect.generalization import bands, dates, flat, generalize, prefixes

    table = make_table(args.rows)
    qi = ["年龄", "性别", "区县", "片区", "登记日期"]
    frame = table.to_pandas()
    ours_k, t_k = timed(lambda: measure(table, qi))
    ours_all, t_all = timed(lambda: measure(table, qi, "诊断"))
    canon_k, t_canon_k = timed(lambda: canon.k_anonymity(frame, qi))
    small = 100_000
    ours_small, t_small = timed(lambda: measure(table.slice(0, small), qi, "诊断"))
    canon_l, t_canon_l = timed(lambda: canon.l_diversity(frame.iloc[:small], qi, ["诊断"]))
    assert ours_k.k == canon_k and ours_small.l == canon_l, "disagrees with pycanon"
    hierarchies = {
        "年龄": bands(5, 10, 20, 50),
        "性别": flat(),
        "区县": prefixes(4, 2),
        "片区": prefixes(1),
        "登记日期": dates("month", "year"),
    }
    gen, t_gen = timed(lambda: generalize(table, hierarchies, 10, max_suppression=0.01))

    print(f"rows: {args.rows:,} x {len(qi)} quasi-identifiers")
    print(f"gongshu measure k           {t_k:7.2f} s   k={ours_k.k}")
    print(f"gongshu measure k, l, t     {t_all:7.2f} s   l={ours_all.l} t={ours_all.t:.3f}")
    print(
        f"pycanon k_anonymity         {t_canon_k:7.2f} s   k={canon_k}   "
        f"ratio {t_canon_k / t_k:5.1f}x slower"
    )
    print(
        f"{small:,}-row slice: gongshu k,l,t {t_small:6.2f} s, pycanon l_diversity "
        f"{t_canon_l:6.2f} s (l={canon_l}), ratio {t_canon_l / max(t_small, 1e-9):5.0f}x"
    )
    print(
        f"generalize to k=10, <=1% suppressed {t_gen:6.2f} s  levels={gen.levels} "
        f"suppressed={gen.suppressed_rows:,} loss={gen.loss:.3f} -> k={gen.report.k}"
    )


if __name__ == "__main__":
    main()
