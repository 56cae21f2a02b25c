"""Discovery benchmark (issue 3, item 7): full scan vs the DuckDB read+regex floor,
sampled classification, and F1 on shared/datasets/discovery-dev.

    .venv/bin/python benchmarks/bench_scan.py [--rows 1000000] [--sample 20000]

Free text (issue 21, item 1): a column of N generated 12345 hotline letters
(names, ID numbers, mobiles, bank cards, plates, addresses inside sentences), the
span-level recognizer against one DuckDB ``regexp_matches`` pass over the same
column, in characters a second; and P/R/F1 on the generated exports
(tests/discovery/exports.py).

    .venv/bin/python benchmarks/bench_scan.py --letters 1000000 --repeat 3

Each measurement runs in a fresh child process so that its peak memory (max
RSS) is its own. The generated table is cached under $TMPDIR/gongshu-bench.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "datasets" / "discovery-dev"
TODAY = date(2026, 11, 22)
COLUMNS = 12
FLOOR_REGEX = r"^\d{17}[\dXx]$"
TEXT_FLOOR_REGEX = r"\d{17}[\dXx]"  # an ID number anywhere in the letter


def generate(rows: int, path: Path) -> None:
    """rows x 12 CSV: a pool of 50,000 generated rows of each column, drawn at random."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sys.path.insert(0, str(ROOT / "tests" / "discovery"))
    from conftest import Gen  # the test generators: valid check digits, real prefixes

    g = Gen(11)
    pool = 50_000
    base = {
        "姓名": [g.name() for _ in range(pool)],
        "sfzh": [g.resident_id() for _ in range(pool)],
        "mobile": [g.mobile() for _ in range(pool)],
        "xb": [g.r.choice(["男", "女"]) for _ in range(pool)],
        "csrq": [f"{g.birth():%Y-%m-%d}" for _ in range(pool)],
        "地址": [f"浙江省杭州市西湖区文三路{i}号" for i in range(pool)],
        "email": [f"user{i}@example.cn" for i in range(pool)],
        "bank_card": [g.bank_card() for _ in range(pool)],
        "amount": [f"{g.r.uniform(0, 99999):.2f}" for _ in range(pool)],
        "order_no": [g.digits(18) for _ in range(pool)],
        "status": [g.r.choice(["1", "2", "3"]) for _ in range(pool)],
        "备注": [
            f"联系人{g.name()}，电话{g.mobile()}" if i % 4 == 0 else "已办结" for i in range(pool)
        ],
    }
    rng = np.random.default_rng(5)
    take = pa.array(rng.integers(0, pool, rows))
    table = pa.table({k: pa.array(v).take(take) for k, v in base.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pacsv.write_csv(table, tmp)
    tmp.rename(path)


def generate_letters(rows: int, path: Path) -> None:
    """One column of ``rows`` letters drawn from a pool of 50,000 generated ones."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT / "tests" / "discovery"))
    from exports import Exports, _letter

    g = Exports(11)
    pool = pa.array([_letter(g)[0] for _ in range(50_000)])
    take = pa.array(np.random.default_rng(5).integers(0, len(pool), rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.table({"来电内容": pool.take(take)}), tmp, row_group_size=65_536)
    tmp.rename(path)


def text_child(kind: str, path: str) -> dict:
    import duckdb

    out: dict = {}
    con = duckdb.connect()
    src = f"read_parquet('{path}')"
    out["chars"] = con.sql(f"SELECT sum(length(来电内容)) FROM {src}").fetchall()[0][0]
    t0 = time.perf_counter()
    if kind == "text-floor":
        out["matched"] = con.sql(
            f"SELECT count(*) FILTER (WHERE regexp_matches(来电内容, '{TEXT_FLOOR_REGEX}')) "
            f"FROM {src}"
        ).fetchall()[0][0]
    else:
        from gongshu.discovery import scan_paths

        report = scan_paths([path], today=TODAY)
        out["columns"] = {c["name"]: c["entities"] for c in report["tables"][0]["columns"]}
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def child(kind: str, path: str, sample: int) -> dict:
    """One measurement inside this (child) process."""
    if kind.startswith("text-"):
        return text_child(kind, path)
    t0 = time.perf_counter()
    out: dict = {}
    if kind == "floor":
        import duckdb

        con = duckdb.connect()
        cols = con.execute(
            f"DESCRIBE SELECT * FROM read_csv('{path}', all_varchar=true)"
        ).fetchall()
        expr = " + ".join(
            f"count(*) FILTER (WHERE regexp_matches(\"{c[0]}\", '{FLOOR_REGEX}'))" for c in cols
        )
        t0 = time.perf_counter()
        out["matched"] = con.execute(
            f"SELECT {expr} FROM read_csv('{path}', all_varchar=true)"
        ).fetchone()[0]
    elif kind in ("full", "sampled"):
        from gongshu.discovery import scan_paths

        report = scan_paths([path], today=TODAY, sample_rows=sample if kind == "sampled" else None)
        out["columns"] = {c["name"]: c["entities"] for c in report["tables"][0]["columns"]}
        out["rows"] = report["tables"][0]["rows"]
    out["seconds"] = time.perf_counter() - t0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_child(kind: str, path: Path, sample: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--file", str(path), "--sample", str(sample)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def dev_f1() -> dict:
    from gongshu.discovery import scan_paths

    labels = json.loads((DEV / "labels.json").read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    report = scan_paths([DEV / f for f in labels], today=TODAY)
    seconds = time.perf_counter() - t0
    tp = fp = fn = 0
    for table in report["tables"]:
        truth = labels[Path(table["source"]).name]["columns"]
        for col in table["columns"]:
            want, got = set(truth[col["name"]]), set(col["entities"])
            tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"precision": precision, "recall": recall, "f1": f1, "seconds": seconds}


def generated_f1() -> dict:
    sys.path.insert(0, str(ROOT / "tests" / "discovery"))
    from exports import score, write_exports

    from gongshu.discovery import scan_paths

    with tempfile.TemporaryDirectory() as d:
        labels = write_exports(Path(d), seed=21)
        report = scan_paths([Path(d) / f for f in labels], today=TODAY)
        return score(report, labels)


def text_main(args: argparse.Namespace, cache: Path) -> None:
    path = cache / f"letters_{args.letters}.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        generate_letters(args.letters, path)
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    runs: dict[str, list[dict]] = {"text-full": [], "text-floor": []}
    for _ in range(args.repeat):
        for kind in runs:
            runs[kind].append(run_child(kind, path, 0))
    med = {k: sorted(v, key=lambda m: m["seconds"])[len(v) // 2] for k, v in runs.items()}
    chars = med["text-full"]["chars"]
    ratios = sorted(
        f["seconds"] / d["seconds"]
        for f, d in zip(runs["text-full"], runs["text-floor"], strict=True)
    )
    print(
        f"column: {args.letters:,} letters, {chars:,} characters, {path.stat().st_size / 1e6:.1f}"
        f" MB Parquet, cpus={os.cpu_count()}; medians of {args.repeat} interleaved runs"
    )
    print("| measurement | seconds | characters/s | peak RSS MB |")
    print("|---|---:|---:|---:|")
    for label, kind in (
        ("gongshu scan (span-level recognizer)", "text-full"),
        ("DuckDB regexp_matches, one pass", "text-floor"),
    ):
        m = med[kind]
        print(
            f"| {label} | {m['seconds']:.2f} | {chars / m['seconds']:,.0f} | "
            f"{m['peak_rss_mb']:.0f} |"
        )
    print(
        f"\nscan / DuckDB pass = {med['text-full']['seconds'] / med['text-floor']['seconds']:.2f}x"
        f"; per-run ratios {', '.join(f'{r:.2f}' for r in ratios)}"
    )
    print("entities:", json.dumps(med["text-full"]["columns"], ensure_ascii=False))
    f1 = generated_f1()
    print(f"generated exports: P {f1['precision']:.4f} R {f1['recall']:.4f} F1 {f1['f1']:.4f}")
    for miss in f1["misses"]:
        print("  ", miss)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; medians")
    ap.add_argument("--letters", type=int, help="free-text benchmark on N letters")
    ap.add_argument("--child")
    ap.add_argument("--file")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.file, args.sample)))
        return
    cache = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "gongshu-bench"
    if args.letters:
        text_main(args, cache)
        return
    path = cache / f"people_{args.rows}x{COLUMNS}.csv"
    if not path.exists():
        t0 = time.perf_counter()
        generate(args.rows, path)
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    size_mb = path.stat().st_size / 1e6
    cells = args.rows * COLUMNS
    runs: dict[str, list[dict]] = {"full": [], "floor": [], "sampled": []}
    for _ in range(args.repeat):  # interleaved, so load on a shared machine hits all alike
        for kind in runs:
            runs[kind].append(run_child(kind, path, args.sample))

    def median(kind: str) -> dict:
        ordered = sorted(runs[kind], key=lambda m: m["seconds"])
        return ordered[len(ordered) // 2]

    full, floor, sampled = median("full"), median("floor"), median("sampled")
    ratios = sorted(
        f["seconds"] / d["seconds"] for f, d in zip(runs["full"], runs["floor"], strict=True)
    )
    f1 = dev_f1()
    print(
        f"table: {args.rows:,} rows x {COLUMNS} columns, {size_mb:.1f} MB CSV, "
        f"cpus={os.cpu_count()}"
    )
    print(f"medians of {args.repeat} interleaved runs, each in a fresh process")
    print("| measurement | seconds | cells/s | MB/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for label, m in (
        ("gongshu full scan", full),
        ("DuckDB read + 1 regex/cell (floor)", floor),
        (f"gongshu sampled ({args.sample:,} rows)", sampled),
    ):
        print(
            f"| {label} | {m['seconds']:.2f} | {cells / m['seconds']:,.0f} | "
            f"{size_mb / m['seconds']:.1f} | {m['peak_rss_mb']:.0f} |"
        )
    print("| Presidio analyzer | not yet | not yet | not yet | not yet |")
    print(
        f"\nfull scan / floor = {full['seconds'] / floor['seconds']:.2f}x (medians of "
        f"{args.repeat}); per-run ratios {', '.join(f'{r:.2f}' for r in ratios)}"
    )
    print(
        f"dev-set F1 (micro, file/column/entity) = {f1['f1']:.4f} "
        f"(P {f1['precision']:.4f}, R {f1['recall']:.4f}), scan {f1['seconds']:.2f} s"
    )
    print("full-scan entities:", json.dumps(full["columns"], ensure_ascii=False))
    print("sampled entities:  ", json.dumps(sampled["columns"], ensure_ascii=False))


if __name__ == "__main__":
    main()
