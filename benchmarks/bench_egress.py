"""Benchmark: the egress door on 1,000,000 rows against a plain DuckDB export (issue 4 item 7).

    .venv/bin/python benchmarks/bench_egress.py --rows 1000000

Builds a throwaway embedded instance under benchmarks/out/, loads a generated
table (names, resident IDs, mobiles, streets, amounts, dates, date-times) into an approved
unconditional-share entry through the real load path (not timed), grants it to
another agency, then times in the same process:

- baseline: DuckDB `COPY (SELECT * FROM read_parquet(...)) TO ... (HEADER)`, the
  plain export of the same stored rows to CSV;
- egress: `gongshu.egress.service.deliver` to CSV and to Parquet: grant check,
  masking by policy (HMAC-SM3 pseudonyms, partial masks), the recipient's
  watermark when the protect toolkit ships one, hashing, the delivery row and its
  ledger entry.

Each is run ``--repeat`` times, interleaved, and the medians are compared; the
script also traces 10,000 rows of each delivery back to its recipient, so a
delivery that carries no mark shows as ``NOT TRACED``. Target: egress at most
3x the baseline.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent / "out" / "egress"


def make_table(rows: int, seed: int = 7) -> pa.Table:
    from gongshu.identifiers import id_check_char

    rng = np.random.default_rng(seed)
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
    given = np.array(["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "志强", "秀英"])
    names = np.char.add(
        surnames[rng.integers(0, len(surnames), rows)], given[rng.integers(0, len(given), rows)]
    )
    # A pool of valid IDs, drawn with replacement: realistic repeats, few Python calls.
    pool = []
    for i in range(20000):
        body = f"360102{1950 + i % 60}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        pool.append(body + id_check_char(body))
    ids = np.array(pool)[rng.integers(0, len(pool), rows)]
    mobiles = np.char.add("138", np.char.zfill(rng.integers(0, 10**8, rows).astype(str), 8))
    streets = np.array(["八一大道", "阳明路", "象山北路", "中山路", "豫章路"])[
        rng.integers(0, 5, rows)
    ]
    return pa.table(
        {
            "姓名": names,
            "公民身份号码": ids,
            "联系电话": mobiles,
            "街道": streets,
            "补助金额": np.round(rng.uniform(200, 2000, rows), 2).astype(str),
            "登记日期": (np.datetime64("2020-01-01") + rng.integers(0, 2000, rows)).astype(str),
            "办理时间": (
                np.datetime64("2024-01-01T08:00:00") + rng.integers(0, 86400 * 365, rows)
            ).astype(str),
        }
    )


# Catalog field types: the load stores decimals, dates and date-times typed, as a real
# entry does (the amount and the time carry the watermark; the date is exact).
FIELDS = [
    {"name": "姓名"},
    {"name": "公民身份号码"},
    {"name": "联系电话"},
    {"name": "街道"},
    {"name": "补助金额", "type": "decimal"},
    {"name": "登记日期", "type": "date"},
    {"name": "办理时间", "type": "datetime"},
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--policy",
        default="open",
        help="open (partial masks) or share-unconditional (HMAC-SM3 pseudonyms)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from gongshu.accounts import service as accounts
    from gongshu.app.server import init_instance
    from gongshu.catalog import service as catalog
    from gongshu.config import Settings
    from gongshu.datasets import service as datasets
    from gongshu.db import transaction
    from gongshu.egress import service as egress
    from gongshu.runtime import Instance

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    src = OUT / "source.parquet"
    pq.write_table(make_table(args.rows), src)
    settings = Settings(data_dir=OUT / "var", secret_key="bench-secret")
    instance = Instance.open(settings)
    init_instance(instance)
    with transaction(instance.session_factory) as s:
        accounts.add_region(s, "360000", "江西省")
        accounts.add_region(s, "360100", "南昌市", parent="360000")
        auth = accounts.add_organization(
            s, "南昌市数据局", kind="data_authority", region_code="360100"
        )
        prov = accounts.add_organization(s, "南昌市民政局", kind="agency", region_code="360100")
        cons = accounts.add_organization(s, "南昌市人社局", kind="agency", region_code="360100")
        clerk = accounts.create_user(s, "clerk", "bench-password", org=prov, roles=["clerk"])
        accounts.create_user(s, "other", "bench-password", org=cons, roles=["clerk"])
        reviewer = accounts.create_user(s, "rev", "bench-password", org=auth, roles=["reviewer"])
        from gongshu.compliance.demo import seed_provider_assessments

        seed_provider_assessments(s, [clerk])  # PIP-8: the provider's impact assessment
        entry = catalog.create(
            s,
            {
                "resource_code": "BENCH-1",
                "name": "低保对象",
                "summary": "benchmark",
                "fields": FIELDS,
                "update_frequency": "每月",
                "security_grade": "一般数据-3级",
                "sharing_attr": "unconditional",
                "opening_attr": "none",
            },
            actor=clerk,
        )
        catalog.submit(s, entry.id, actor=clerk)
        catalog.approve(s, entry.id, actor=reviewer)
        version = datasets.load(s, entry.id, src, actor=clerk, datasets_dir=settings.datasets_dir)
        sealed = (version.sealed or {}).get("columns") or []
        entry_id = entry.id
    # The baseline exports the same rows and columns from one plain Parquet file: the
    # loaded source (the stored version keeps its ID column sealed with SM4, SEC-9,
    # which the door decrypts and the baseline does not).
    stored = src
    print(f"sealed at rest: {', '.join(sealed) or 'none'}")
    with transaction(instance.session_factory) as s:
        other = accounts.get_user(s, "other")
        grant_id = egress.create_grant(
            s,
            catalog.get(s, entry_id),
            recipient_org_id=other.org_id,
            purpose="基准测试",
            source="sharing",
            actor=reviewer,
            policy=args.policy,
        ).id

    def plain() -> tuple[float, float]:
        t, c = time.perf_counter(), time.process_time()
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{stored}')) TO '{OUT / 'plain.csv'}' (HEADER)"
        )
        con.close()
        return time.perf_counter() - t, time.process_time() - c

    def egress_once(fmt: str) -> tuple[float, object]:
        with transaction(instance.session_factory) as s:
            other = accounts.get_user(s, "other")
            t, c = time.perf_counter(), time.process_time()
            out = egress.deliver(
                s,
                grant_id,
                actor=other,
                fmt=fmt,
                datasets_dir=settings.datasets_dir,
                work_dir=OUT / "egress",
                secret=settings.secret_key,
            )
            secs = (time.perf_counter() - t, time.process_time() - c)
            return secs, (out.delivery.rows, out.delivery.token, out.delivery.recipient, out.path)

    # Interleaved repeats: baseline and egress see the same load on a shared machine.
    baselines, results = [], {"csv": [], "parquet": []}
    last = {}
    for _ in range(args.repeat):
        baselines.append(plain())
        for fmt in results:
            secs, last[fmt] = egress_once(fmt)
            results[fmt].append(secs)
    baseline = statistics.median(b[0] for b in baselines)
    base_cpu = statistics.median(b[1] for b in baselines)
    print(f"rows: {args.rows:,}  policy: {args.policy}  repeats: {args.repeat} (medians)")
    print(f"baseline  DuckDB COPY to CSV           {baseline:6.2f} s  cpu {base_cpu:6.2f} s")
    for fmt, times in results.items():
        secs = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        rows, token, recipient, path = last[fmt]
        print(
            f"egress    deliver {fmt:<8} {rows:>9,} rows {secs:6.2f} s  "
            f"ratio {secs / baseline:4.2f}x  cpu {cpu:6.2f} s ({cpu / base_cpu:4.2f}x)  "
            f"{traced(path, recipient, token, entry_id, settings)}"
        )
    instance.close()


def traced(path: Path, recipient: str, token: str, entry_id: int, settings) -> str:  # noqa: ANN001
    """Check the delivery really carries the recipient's mark: trace 10,000 of its rows."""
    from gongshu.egress.tracing import watermark_key
    from gongshu.protect.watermark import Mark
    from gongshu.protect.watermark_trace import attribute, read_leak

    table = read_leak(path)  # as `gongshu trace` reads it: CSV as text
    sample = table.slice(table.num_rows // 2, 10_000)
    true = Mark(recipient, token, entry_id)
    innocents = [Mark(f"user:{i}", f"{i:016x}", entry_id) for i in range(100)]
    result = attribute(sample, [true, *innocents], watermark_key(settings.secret_key))
    named = "traced" if result.mark == true else "NOT TRACED"
    return f"watermark {named} from 10,000 rows ({result.bits:,} bits)"


if __name__ == "__main__":
    main()
