"""Benchmark: a province-sized resident table end to end, in process and on Spark
(issue 19 item 3).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_province.py --rows 1000000
    PYTHONPATH=src .venv/bin/python benchmarks/bench_province.py --rows 1000000 10000000 \\
        --engines local spark

For each size and engine a fresh child process builds a throwaway embedded instance
under benchmarks/out/province/, writes a generated resident table (names, resident
IDs sealed at rest, mobiles, streets, amounts, dates; bench_egress.make_table, 250,000
rows at a time, in a process of its own, so generation is not in the figures) and times:

- load: the real load path (convert, check, seal the ID column frame by frame);
- scan: the full discovery scan of the stored version (``datasets.classify.full_scan``);
- quality: the entry's default quality rules (``quality.service.run_report``);
- k-anonymity: k and l over street and registration date, with the resident ID as
  the sensitive attribute (a sealed column: decrypted frame by frame);
- export: a delivery through the egress door (masking, watermark, CSV).

Peak RSS is the child's ``ru_maxrss``: the highest so far after each phase, and the
phase's own (``phase_peak_mb``: the peak is reset before each phase on Linux); with
``--engines spark`` a local standalone cluster (a master, two one-core workers) is
started first and the child runs with ``GONGSHU_ENGINE=spark``: scan and
k-anonymity run on the cluster, and the figure is the driver's Python process
(executors and JVMs are other processes); the driver's JVM (pyspark's gateway) has a
figure of its own, ``driver_jvm_phase_peak_mb`` (its ``VmHWM``, reset before each
phase like the Python process's). Each phase records the load average at its end.
Ratios are against the first size.
Aim: peak RSS under 2 GB in process at 50,000,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "province"
CHUNK = 250_000
PHASES = ("load", "scan", "quality", "k-anonymity", "export")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    """The current RSS (Linux; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _reset_peak(pid: int | str = "self") -> None:
    """Start a new peak from the current RSS (Linux: ``clear_refs`` 5 resets VmHWM and
    ``ru_maxrss``), so each phase has its own figure; elsewhere peaks stay cumulative."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def _jvm_pid() -> int | None:
    """The driver's JVM (pyspark's gateway, a child of this process), once started."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return None
    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None) if gateway is not None else None
    return proc.pid if proc is not None else None


def _hwm_mb(pid: int) -> float:
    """A process's peak RSS since its last reset (``VmHWM``; 0 when unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def write_source(path: Path, rows: int) -> None:
    import pyarrow.parquet as pq

    sys.path.insert(0, str(HERE))
    from bench_egress import make_table

    writer = None
    for i, start in enumerate(range(0, rows, CHUNK)):
        table = make_table(min(CHUNK, rows - start), seed=7 + i)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table)
    assert writer is not None
    writer.close()


def child(rows: int, engine: str, src: Path, phases: tuple[str, ...] = PHASES) -> dict:
    """One run of every phase in this process; returns the figures."""
    sys.path.insert(0, str(HERE))
    from bench_egress import FIELDS

    from gongshu.accounts import service as accounts
    from gongshu.app.server import init_instance
    from gongshu.capabilities import activate
    from gongshu.catalog import service as catalog
    from gongshu.config import Settings
    from gongshu.datasets import anonymized
    from gongshu.datasets import service as datasets
    from gongshu.datasets.classify import full_scan
    from gongshu.db import transaction
    from gongshu.egress import service as egress
    from gongshu.quality import service as quality
    from gongshu.runtime import Instance
    from gongshu.storage.models import DatasetVersion

    activate()  # the registry every entry point installs (the door's gates)
    work = OUT / f"{engine}-{rows}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    figures: dict = {"rows": rows, "engine": engine, "at_start_mb": _peak_mb()}
    settings = Settings(data_dir=work / "var", secret_key="bench-secret")
    instance = Instance.open(settings)
    init_instance(instance)
    ds = settings.datasets_dir

    highest = [_peak_mb()]

    def timed(name: str, fn):  # noqa: ANN001, ANN202
        _reset_peak()
        jvm = _jvm_pid() if engine == "spark" else None
        if jvm is not None:
            _reset_peak(jvm)
        start = _rss_mb()
        t = time.perf_counter()
        out = fn()
        phase = _peak_mb()
        highest[0] = max(highest[0], phase)
        figures[name] = {
            "seconds": round(time.perf_counter() - t, 2),
            "peak_mb": round(highest[0], 1),  # so far
            "phase_peak_mb": round(phase, 1),  # during this phase only
            "start_mb": round(start, 1),  # RSS when the phase began
            "load_average": round(os.getloadavg()[0], 1),  # at the phase's end
        }
        jvm = _jvm_pid() if engine == "spark" else None
        if jvm is not None:  # the driver's JVM: its heap is capped (1g), its RSS is not
            figures[name]["driver_jvm_phase_peak_mb"] = round(_hwm_mb(jvm), 1)
        print(f"  {engine} {rows:,} {name}: {figures[name]}", file=sys.stderr, flush=True)
        return out

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
        entry = catalog.create(
            s,
            {
                "resource_code": "BENCH-PROVINCE",
                "name": "全省低保对象",
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
        entry_id = entry.id
        from gongshu.compliance.demo import seed_provider_assessments

        seed_provider_assessments(s, [clerk], [entry_id])  # PIP-8, for the grant
    with transaction(instance.session_factory) as s:
        clerk = accounts.get_user(s, "clerk")
        version = timed(
            "load", lambda: datasets.load(s, entry_id, src, actor=clerk, datasets_dir=ds)
        )
        version_id = version.id
        figures["sealed"] = (version.sealed or {}).get("columns")
    if "scan" in phases:
        with transaction(instance.session_factory) as s:
            version = s.get(DatasetVersion, version_id)
            result = timed("scan", lambda: full_scan(ds, version))
            figures["scan_rows"] = result["rows"]
    if "quality" in phases:
        with transaction(instance.session_factory) as s:
            report = timed("quality", lambda: quality.run_report(s, version_id, datasets_dir=ds))
            figures["quality_overall"], figures["quality_rows"] = report.overall, report.rows
            figures["quality_rules"] = len(report.results)
    if "k-anonymity" in phases:
        with transaction(instance.session_factory) as s:
            version = s.get(DatasetVersion, version_id)
            anon = timed(
                "k-anonymity",
                lambda: anonymized._measure(ds, version, ["街道", "登记日期"], ["公民身份号码"]),
            )
            figures["k"], figures["l"] = anon.k, anon.l
    if "export" in phases:
        with transaction(instance.session_factory) as s:
            other = accounts.get_user(s, "other")
            grant_id = egress.create_grant(
                s,
                catalog.get(s, entry_id),
                recipient_org_id=other.org_id,
                purpose="基准测试",
                source="sharing",
                actor=reviewer,
                policy="open",
            ).id
        with transaction(instance.session_factory) as s:
            other = accounts.get_user(s, "other")
            out = timed(
                "export",
                lambda: egress.deliver(
                    s,
                    grant_id,
                    actor=other,
                    fmt="csv",
                    datasets_dir=ds,
                    work_dir=work / "egress",
                    secret=settings.secret_key,
                ),
            )
            figures["export_rows"] = out.delivery.rows
    figures["peak_mb"] = max(highest[0], _peak_mb())
    instance.close()
    if engine == "spark":
        from gongshu.spark import stop

        stop()
    shutil.rmtree(work, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--engines", nargs="+", default=["local"], choices=["local", "spark"])
    parser.add_argument(
        "--phases", nargs="+", default=list(PHASES[1:]), choices=PHASES[1:], help="after the load"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        write_source(args.generate, args.rows[0])
        return
    if args.child:
        phases = ("load", *args.phases)
        print(json.dumps(child(args.rows[0], args.engines[0], args.child, phases)))
        return
    cluster = None
    env = dict(os.environ)
    if "spark" in args.engines:
        from gongshu.spark.cluster import LocalCluster

        cluster = LocalCluster(workers=2, cores=1, memory="1g").start()
        env["GONGSHU_SPARK_MASTER"] = cluster.url
    runs: list[dict] = []
    sources = {}
    for rows in args.rows:  # generated by a process of its own: not in the figures
        sources[rows] = OUT / f"source-{rows}.parquet"
        sources[rows].parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 - this script
            [sys.executable, __file__, "--generate", str(sources[rows]), "--rows", str(rows)],
            check=True,
        )
    try:
        for engine in args.engines:
            for rows in args.rows:
                run_env = {**env, "GONGSHU_ENGINE": engine}
                r = subprocess.run(  # noqa: S603 - this script
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        str(sources[rows]),
                        "--rows",
                        str(rows),
                        "--engines",
                        engine,
                        "--phases",
                        *args.phases,
                    ],
                    env=run_env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if r.returncode:
                    print(r.stderr[-4000:], file=sys.stderr)
                    raise SystemExit(f"{engine} {rows:,}: the run failed")
                runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
                print(json.dumps(runs[-1], ensure_ascii=False), flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
        for src in sources.values():
            src.unlink(missing_ok=True)
    base = {}
    print(f"{'engine':<6} {'rows':>12} " + " ".join(f"{p:>12}" for p in PHASES) + "   peak RSS")
    for run in runs:
        first = base.setdefault(run["engine"], run)
        cells = []
        for phase in PHASES:
            if phase not in run or phase not in first:
                cells.append("—")
                continue
            secs = run[phase]["seconds"]
            ratio = secs / first[phase]["seconds"] if first[phase]["seconds"] else 0
            cells.append(f"{secs:7.1f}s {ratio:3.0f}x" if run is not first else f"{secs:11.1f}s")
        print(
            f"{run['engine']:<6} {run['rows']:>12,} "
            + " ".join(f"{c:>12}" for c in cells)
            + f"   {run['peak_mb']:,.0f} MB"
            + f" (k={run.get('k')}, l={run.get('l')}, sealed {run['sealed']})"
        )
    print(json.dumps(runs, ensure_ascii=False))


if __name__ == "__main__":
    main()
