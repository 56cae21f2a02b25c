"""Benchmark: quality rules over a large version vs one DuckDB pass (issue 8 item 2).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_quality.py --rows 10000000

A generated subsidy list (name, valid GB 11643 resident ID, gender, birth date,
mobile, amount, issue date; a few planted errors) written to one Parquet file.
In the same run, on the same file:

- baseline: one DuckDB aggregate that reads every value of every column
  (sum of string lengths, sums of numbers, max day offset of dates: expressions,
  so DuckDB cannot answer from the Parquet statistics);
- the default rules of gongshu.quality for that entry (non-null, types, GB 11643,
  mobile format, gender code set, amount range, birth date and gender against the
  ID, uniqueness of the ID, freshness), through ``engine.evaluate``.

The goal is rules <= 3x baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.identifiers import ID_CHECK, ID_WEIGHTS
from gongshu.quality.engine import evaluate
from gongshu.quality.rules import default_rules

FIELDS = [
    {"name": "姓名", "type": "string"},
    {"name": "公民身份号码", "type": "string", "kind": "resident_id"},
    {"name": "性别", "type": "string"},
    {"name": "出生日期", "type": "date"},
    {"name": "联系电话", "type": "string"},
    {"name": "补贴金额", "type": "decimal"},
    {"name": "发放日期", "type": "date"},
]
TAGS = {"联系电话": ["CN_MOBILE"], "性别": ["GENDER"], "姓名": ["PERSON_NAME"]}


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    out = np.empty((len(values), width), dtype=np.uint8)
    v = values.copy()
    for i in range(width - 1, -1, -1):
        out[:, i] = 48 + v % 10
        v //= 10
    return out


def _strings(matrix: np.ndarray) -> pa.Array:
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes())]
    )


def make_table(rows: int, seed: int = 8, start: int = 0) -> pa.Table:
    """Rows ``start ..``: distinct people (birth day and sequence from the row number),
    with ten repeated ID numbers and one negative amount per 100,000 rows planted."""
    rng = np.random.default_rng(seed)
    n = np.arange(start, start + rows, dtype=np.int64)
    birth = np.datetime64("1930-01-01") + (n % 25000).astype("timedelta64[D]")
    dates = birth.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    mday = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    ymd_n = years * 10000 + months * 100 + mday
    seq = (n // 25000) % 1000
    seq[1:11], birth[1:11] = seq[0], birth[0]  # planted: one person ten more times
    dates = birth.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    mday = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    ymd_n = years * 10000 + months * 100 + mday
    first17 = 360102 * 10**11 + ymd_n * 1000 + seq
    d17 = _digits(first17, 17)
    total = ((d17.astype(np.int64) - 48) * ID_WEIGHTS).sum(axis=1) % 11
    check = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)[total]
    ids = _strings(np.concatenate([d17, check[:, None]], axis=1))
    male = seq % 2 == 1
    gender = pa.array(np.where(male, "男", "女"))
    mobiles = _strings(_digits(13800000000 + rng.integers(0, 99999999, rows), 11))
    names = pa.array(np.array(["张伟", "王芳", "李娜", "刘洋"])[rng.integers(0, 4, rows)])
    amount = rng.integers(10000, 50000, rows) / 100.0
    amount[::100_000] = -1.0  # planted: negative amounts
    issued = np.datetime64("2026-11-01") + rng.integers(0, 25, rows).astype("timedelta64[D]")
    return pa.table(
        {
            "姓名": names,
            "公民身份号码": ids,
            "性别": gender,
            "出生日期": pa.array(dates, pa.date32()),
            "联系电话": mobiles,
            "补贴金额": pa.array(amount),
            "发放日期": pa.array(issued.astype("datetime64[D]"), pa.date32()),
        }
    )


BASELINE_SQL = (
    'SELECT count(*), sum(length("姓名")), sum(length("公民身份号码")), sum(length("性别")), '
    'max("出生日期" - DATE \'1900-01-01\'), sum(length("联系电话")), sum("补贴金额"), '
    "max(\"发放日期\" - DATE '1900-01-01') FROM {src}"
)


def baseline(path: Path) -> float:
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(BASELINE_SQL.format(src=f"read_parquet('{path}')")).fetchall()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def sealed_version(src: Path, out: Path):  # noqa: ANN201
    """``src`` loaded as a catalog entry's version through the real load path, its
    resident IDs sealed at rest with SM4-GCM (the default for an ID column)."""
    from gongshu.accounts import service as accounts
    from gongshu.app.server import init_instance
    from gongshu.catalog import service as catalog
    from gongshu.config import Settings
    from gongshu.datasets import service as datasets
    from gongshu.db import transaction
    from gongshu.runtime import Instance

    settings = Settings(data_dir=out / "var", secret_key="q" * 32)
    inst = Instance.open(settings)
    init_instance(inst)
    with transaction(inst.session_factory) as s:
        accounts.add_region(s, "360000", "江西省")
        auth = accounts.add_organization(s, "数据局", kind="data_authority", region_code="360000")
        agency = accounts.add_organization(s, "民政厅", kind="agency", region_code="360000")
        clerk = accounts.create_user(s, "clerk", "bench-password", org=agency, roles=["clerk"])
        rev = accounts.create_user(s, "rev", "bench-password", org=auth, roles=["reviewer"])
        entry = catalog.create(
            s,
            {
                "resource_code": "BENCH-Q",
                "name": "补贴发放",
                "summary": "benchmark",
                "fields": FIELDS,
                "update_frequency": "每月",
                "security_grade": "一般数据-2级",
                "sharing_attr": "unconditional",
                "opening_attr": "none",
                "load_policy": "quarantine",
            },
            actor=clerk,
        )
        catalog.submit(s, entry.id, actor=clerk)
        catalog.approve(s, entry.id, actor=rev)
        version = datasets.load(s, entry.id, src, actor=clerk, datasets_dir=settings.datasets_dir)
        assert version.sealed and "公民身份号码" in version.sealed["columns"]
    return settings.datasets_dir, version


def baseline_stored(datasets_dir: Path, version) -> float:  # noqa: ANN001
    """The same aggregate over the stored version: its sealed column decrypted."""
    from gongshu import storage

    con = duckdb.connect()
    started = time.perf_counter()
    rel = storage.relation(con, datasets_dir, version, row_numbers=False)
    con.execute(BASELINE_SQL.format(src=rel)).fetchall()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sealed",
        action="store_true",
        help="load the file as a version (resident IDs sealed at rest) and time both on it",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "subsidy.parquet"
        started = time.perf_counter()
        writer = None
        step = 2_000_000
        for start in range(0, args.rows, step):
            table = make_table(min(step, args.rows - start), seed=start, start=start)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        writer.close()
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
        rules = default_rules(
            FIELDS, TAGS, update_frequency="每月", distinct={"公民身份号码": True}
        )
        stored = sealed_version(path, Path(tmp)) if args.sealed else None
        base, checked = [], []
        for _ in range(args.repeat):
            base.append(baseline_stored(*stored) if stored else baseline(path))
            started = time.perf_counter()
            rows, results = evaluate(
                stored or path,
                rules,
                fields=FIELDS,
                today=dt.date(2026, 12, 1),
                loaded_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                previous_loaded_at=None,
            )
            checked.append(time.perf_counter() - started)
        b, r = min(base), min(checked)
        failed = {x.rule["id"]: x.failed for x in results if x.failed}
        print(f"rules: {len(rules)} ({sum(1 for x in results if x.checked)} evaluated)")
        print(f"baseline one pass: {b:.2f} s; rules: {r:.2f} s; ratio {r / b:.2f}x (goal <= 3x)")
        print(
            "each repeat (baseline / rules): "
            + ", ".join(f"{x:.2f} / {y:.2f}" for x, y in zip(base, checked, strict=True))
        )
        print(f"rows {rows:,}; failing rules {failed}")
        # the machine is shared: how busy it was (the ratio moves with the load)
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
