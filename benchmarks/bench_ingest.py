"""Benchmark: streaming ingest of a ~1 GB CSV of residents (AGG-1, AGG-3).

    .venv/bin/python benchmarks/bench_ingest.py --size-mb 1024
    .venv/bin/python benchmarks/bench_ingest.py --size-mb 64 --encoding gbk

Generates (once, cached under benchmarks/out/) a deterministic CSV with
realistic columns: valid GB 11643 resident IDs, GB/T 2260 county codes,
names, amounts, dates, timestamps, flags, and a small share of bad IDs.
Then, each in a fresh child process so peak memory is its own:

- baseline: pyarrow.csv streaming read of the same file, all columns as
  strings, nothing else (the floor for "read the file");
- ingest: gongshu.datasets.ingest.ingest_file with the quarantine policy.

Reports wall time, MB/s, peak RSS (VmHWM) and the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

OUT = Path(__file__).resolve().parent / "out"
CHUNK_ROWS = 500_000
COLUMNS = ["序号", "身份证号", "姓名", "区划", "金额", "登记日期", "更新时间", "是否有效", "备注"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国文斌")
NOTES = ["", "", "", "低保对象", "已核实", "待复核，联系人：社区网格员", "迁入", "迁出"]
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def counties() -> np.ndarray:
    from gongshu.identifiers import region_codes

    codes = sorted(c for c in region_codes() if not c.endswith("00") and c[:2] != "71")
    return np.array([int(c) for c in codes], dtype=np.int64)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digit matrix of non-negative integers."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def resident_ids(rng: np.random.Generator, n: int, regions: np.ndarray, bad: float) -> pa.Array:
    region = regions[rng.integers(0, len(regions), n)]
    born = np.datetime64("1940-01-01") + rng.integers(0, 365 * 70, n).astype("timedelta64[D]")
    days = born.astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    mdays = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    birth = years * 10000 + months * 100 + mdays
    seq = rng.integers(0, 1000, n)
    first17 = np.hstack([_digits(region, 6), _digits(birth, 8), _digits(seq, 3)])
    check = ID_CHECK[((first17.astype(np.int64) - 48) * ID_WEIGHTS).sum(axis=1) % 11]
    broken = rng.random(n) < bad
    check = np.where(broken, np.where(check == ord("0"), ord("1"), ord("0")), check)
    matrix = np.hstack([first17, check[:, None]]).astype(np.uint8)
    return pa.array(matrix.view("S18").ravel()).cast(pa.string())


def chunk(rng: np.random.Generator, start: int, n: int, regions: np.ndarray, bad: float):
    names = pc.binary_join_element_wise(
        pa.array(SURNAMES).take(pa.array(rng.integers(0, len(SURNAMES), n))),
        pa.array(GIVEN).take(pa.array(rng.integers(0, len(GIVEN), n))),
        pa.array(GIVEN).take(pa.array(rng.integers(0, len(GIVEN), n))),
        "",
    )
    cents = rng.integers(0, 100, n)
    amount = pc.binary_join_element_wise(
        pc.cast(pa.array(rng.integers(0, 50_000, n)), pa.string()),
        pc.utf8_lpad(pc.cast(pa.array(cents), pa.string()), 2, "0"),
        ".",
    )
    base = np.datetime64("2015-01-01")
    reg = base + rng.integers(0, 3650, n).astype("timedelta64[D]")
    upd = np.datetime64("2020-01-01T00:00:00") + rng.integers(0, 5 * 365 * 86400, n).astype(
        "timedelta64[s]"
    )
    return pa.table(
        {
            "序号": pa.array(np.arange(start, start + n)),
            "身份证号": resident_ids(rng, n, regions, bad),
            "姓名": names,
            "区划": pc.cast(pa.array(regions[rng.integers(0, len(regions), n)]), pa.string()),
            "金额": amount,
            "登记日期": pc.cast(pa.array(reg), pa.string()),
            "更新时间": pc.cast(pa.array(upd), pa.string()),
            "是否有效": pa.array(np.where(rng.random(n) < 0.9, "是", "否")),
            "备注": pa.array(NOTES).take(pa.array(rng.integers(0, len(NOTES), n))),
        }
    )


def generate(path: Path, size_mb: int, encoding: str, bad: float) -> None:
    rng = np.random.default_rng(20240131)
    regions = counties()
    target = size_mb << 20
    tmp = path.with_suffix(".partial")
    written, start = 0, 0
    options = pacsv.WriteOptions(include_header=True)
    with open(tmp, "wb") as fh:
        while written < target:
            table = chunk(rng, start, CHUNK_ROWS, regions, bad)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(table, sink, options)
            data = sink.getvalue().to_pybytes()
            last = written + len(data) >= target
            if last:  # trim to size on a row boundary
                data = data[: data.rfind(b"\n", 0, target - written) + 1]
            if encoding != "utf-8":
                data = data.decode("utf-8").encode(encoding)
            fh.write(data)
            written += len(data)
            start += CHUNK_ROWS
            options = pacsv.WriteOptions(include_header=False)
            if last:
                break
    tmp.replace(path)


def fields():
    from gongshu.datasets.ingest import FieldSpec

    return [
        FieldSpec("序号", "integer", required=True),
        FieldSpec("身份证号", "string", kind="resident_id", required=True),
        FieldSpec("姓名", "string", required=True),
        FieldSpec("区划", "string", kind="region_code"),
        FieldSpec("金额", "decimal"),
        FieldSpec("登记日期", "date"),
        FieldSpec("更新时间", "datetime"),
        FieldSpec("是否有效", "boolean"),
        FieldSpec("备注", "string"),
    ]


def peak_rss_mb() -> dict:
    """The kernel's high-water mark of this process's resident set (VmHWM).

    ru_maxrss is not used: Linux carries it across execve, so a child would
    report its parent's peak (the generator's) instead of its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return {"peak_rss_mb": int(line.split()[1]) // 1024}
    return {"peak_rss_mb": -1}


def run_child(phase: str, src: Path, block_size: int) -> dict:
    """One measured phase, in this (fresh) process."""
    started = time.perf_counter()
    out: dict = {"phase": phase}
    if phase == "baseline":
        from gongshu.tabular import detect_encoding

        enc = detect_encoding(src)
        read = pacsv.ReadOptions(
            encoding="utf8" if enc.startswith("utf-8") else enc, block_size=block_size
        )
        with pacsv.open_csv(src, read_options=read) as probe:
            names = probe.schema.names
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names})
        rows = 0
        for batch in pacsv.open_csv(src, read_options=read, convert_options=convert):
            rows += batch.num_rows
        out["rows"] = rows
    else:
        from gongshu.datasets.ingest import ingest_file

        dest = OUT / "bench-ingest.parquet"
        result = ingest_file(
            src, fields(), dest, policy="quarantine", today=date(2026, 1, 1), block_size=block_size
        )
        out.update(
            rows=result.report.rows_total,
            loaded=result.rows,
            rejected=result.report.rows_rejected,
            parquet_mb=round(result.bytes / 2**20, 1),
            summary=result.report.summary(),
        )
    out["seconds"] = round(time.perf_counter() - started, 2)
    out.update(peak_rss_mb())
    pool = pa.default_memory_pool()
    out["arrow_pool_peak_mb"] = pool.max_memory() // 2**20
    out["arrow_pool"] = pool.backend_name
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--encoding", choices=["utf-8", "gbk"], default="utf-8")
    ap.add_argument("--bad-ratio", type=float, default=1e-4)
    ap.add_argument("--block-size", type=int, default=8 << 20)
    ap.add_argument("--child", choices=["baseline", "ingest"], help=argparse.SUPPRESS)
    ap.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.file, args.block_size), ensure_ascii=False))
        return
    OUT.mkdir(exist_ok=True)
    src = OUT / f"residents-{args.size_mb}mb-{args.encoding}.csv"
    if not src.exists():
        t = time.perf_counter()
        generate(src, args.size_mb, args.encoding, args.bad_ratio)
        print(f"generated {src.name} in {time.perf_counter() - t:.1f} s")
    size_mb = src.stat().st_size / 2**20
    results = {}
    for phase in ("baseline", "ingest"):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            phase,
            "--file",
            str(src),
            "--block-size",
            str(args.block_size),
        ]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        res = json.loads(done.stdout.strip().splitlines()[-1])
        res["mb_per_s"] = round(size_mb / res["seconds"], 1)
        results[phase] = res
        print(json.dumps(res, ensure_ascii=False))
    ratio = results["ingest"]["seconds"] / results["baseline"]["seconds"]
    print(f"file {size_mb:.0f} MB ({args.encoding}); ingest/baseline time ratio {ratio:.2f}")
    if results["ingest"]["peak_rss_mb"] >= 1024:
        sys.exit("FAIL: ingest peak memory reached 1 GB")


if __name__ == "__main__":
    main()
