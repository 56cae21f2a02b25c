"""Load test of the open API (issue 5): p95 latency of CKAN `package_search` on a
catalog of 10,000 open entries and of `datastore_search` returning 100 rows from a
10,000,000-row table, under many concurrent clients on loopback.

    .venv/bin/python benchmarks/bench_portal.py --entries 10000 --rows 10000000 --clients 200
    .venv/bin/python benchmarks/bench_portal.py --reuse --clients 200 --think-ms 1000

Builds a throwaway embedded instance under benchmarks/out/portal (entries are
inserted through the catalog service; the big table is loaded through the real
load path), serves it with `gongshu serve` in a child process (rate limits raised
out of the way; `--workers` server processes) and drives it with `wrk` (Debian
package wrk: C, two threads, a Lua script for the percentiles) or, without wrk,
asyncio + httpx from this process. Client and server share this machine's cores,
so the figures are a floor for the server.

Two client models: `--think-ms 0` (default), every client sends its next request
as soon as the last one is answered: a saturation test, whose latency is queueing
(200 clients / throughput); `--think-ms T`, every client waits a random
(exponential) T ms between requests, as people and harvesters do: latency at the
offered load of about clients / T requests a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent / "out" / "portal"


def build(entries: int, rows: int, database_url: str | None = None) -> tuple[str, int]:
    from sqlalchemy import insert, select

    from gongshu.accounts import service as accounts
    from gongshu.app.server import init_instance
    from gongshu.catalog import service as catalog
    from gongshu.catalog.models import CatalogEntry
    from gongshu.config import Settings
    from gongshu.datasets import service as datasets
    from gongshu.db import transaction
    from gongshu.opendata import service as opendata
    from gongshu.runtime import Instance

    shutil.rmtree(OUT, ignore_errors=True)
    if database_url:  # a throwaway PostgreSQL database: start from an empty schema
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        with engine.begin() as con:
            con.execute(text("DROP SCHEMA public CASCADE"))
            con.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    settings = Settings(data_dir=OUT / "var", secret_key="bench-secret", database_url=database_url)
    inst = Instance.open(settings)
    init_instance(inst)
    with transaction(inst.session_factory) as s:
        accounts.add_region(s, "360000", "江西省")
        auth = accounts.add_organization(
            s, "江西省数据局", kind="data_authority", region_code="360000"
        )
        agency = accounts.add_organization(s, "江西省民政厅", kind="agency", region_code="360000")
        clerk = accounts.create_user(s, "clerk", "bench-password", org=agency, roles=["clerk"])
        rev = accounts.create_user(s, "rev", "bench-password", org=auth, roles=["reviewer"])
        citizen = accounts.create_user(s, "citizen", "bench-password", roles=["public"])
        from gongshu.timeutil import utcnow

        citizen.identity_verified_at, citizen.identity_method = utcnow(), "bench"
        big = catalog.create(
            s,
            {
                "resource_code": "BENCH-BIG",
                "name": "全省养老服务记录",
                "summary": "大表",
                "fields": [{"name": "编号"}, {"name": "机构"}, {"name": "金额", "type": "decimal"}],
                "update_frequency": "每月",
                "security_grade": "一般数据-1级",
                "sharing_attr": "unconditional",
                "opening_attr": "unconditional",
            },
            actor=clerk,
        )
        catalog.submit(s, big.id, actor=clerk)
        catalog.approve(s, big.id, actor=rev)
        template = {
            c: getattr(big, c)
            for c in (
                "summary",
                "fields",
                "update_frequency",
                "security_grade",
                "sharing_attr",
                "opening_attr",
                "formats",
                "themes",
                "load_policy",
                "provider_org_id",
                "tier",
                "region_code",
            )
        }
        words = ["养老", "医疗", "教育", "交通", "社保", "环境", "企业", "人口"]
        s.execute(
            insert(CatalogEntry),
            [
                {
                    **template,
                    "resource_code": f"BENCH-{i:05d}",
                    "status": "approved",
                    "name": f"{words[i % 8]}数据集{i}",
                    "version_no": 3,
                    "published_version": 3,
                    "provincial": True,
                }
                for i in range(entries - 1)
            ],
        )
        big_id = big.id
        src = OUT / "big.parquet"
        rng = np.random.default_rng(3)
        writer = None
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            t = pa.table(
                {
                    "编号": pa.array(np.arange(start, start + n).astype(str)),
                    "机构": pa.array(np.array(["东湖养老院", "西湖养老院"])[rng.integers(0, 2, n)]),
                    "金额": pa.array(np.round(rng.uniform(100, 999, n), 2).astype(str)),
                }
            )
            writer = writer or pq.ParquetWriter(src, t.schema)
            writer.write_table(t)
        writer.close()
        datasets.load(s, big_id, src, actor=clerk, datasets_dir=settings.datasets_dir)
        opendata.declare_use(s, big_id, actor=citizen, use="bench", scenario="load test")
        token, _ = accounts.issue_token(s, citizen, kind="api", ttl=timedelta(hours=2))
        assert s.scalar(select(CatalogEntry.id).where(CatalogEntry.resource_code == "BENCH-BIG"))
    inst.close()
    return token, big_id


async def drive(
    url: str, clients: int, seconds: float, path: str, headers: dict, think_ms: float
) -> list[float]:
    import random

    import httpx2 as httpx

    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                r = await client.get(path, headers=headers)
                r.raise_for_status()
                latencies.append(time.perf_counter() - t)
                if think_ms:
                    await asyncio.sleep(random.expovariate(1000.0 / think_ms))

        await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


WRK_SCRIPT = """
local think = %(think)f
math.randomseed(os.time())
if think > 0 then
  delay = function() return -think * math.log(1 - math.random()) end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("GS %%d %%d %%.3f %%.3f %%.3f %%.3f\\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def run_wrk(
    url: str, clients: int, seconds: float, path: str, headers: dict, think_ms: float
) -> dict:
    from urllib.parse import quote

    script = OUT / "wrk.lua"
    script.write_text(WRK_SCRIPT % {"think": think_ms})
    cmd = [
        "wrk",
        f"-t{min(2, clients)}",
        f"-c{clients}",
        f"-d{seconds:g}s",
        "--timeout",
        "60s",
        "-s",
        str(script),
    ]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(url + quote(path, safe="/?=&:"))
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("GS "))
    n, errors, duration, p50, p95, p99 = line.split()[1:]
    return {
        "requests": int(n),
        "errors": int(errors),
        "rate": int(n) / float(duration),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
    }


def measure(
    url: str, clients: int, seconds: float, path: str, headers: dict, think_ms: float
) -> dict:
    if shutil.which("wrk"):
        return {"client": "wrk", **run_wrk(url, clients, seconds, path, headers, think_ms)}
    lat = sorted(asyncio.run(drive(url, clients, seconds, path, headers, think_ms)))
    return {
        "client": "httpx",
        "requests": len(lat),
        "errors": 0,
        "rate": len(lat) / seconds,
        "p50": statistics.median(lat) * 1000,
        "p95": lat[int(len(lat) * 0.95) - 1] * 1000,
        "p99": lat[int(len(lat) * 0.99) - 1] * 1000,
    }


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server process and its children (Linux /proc):
    the cost of a call, whatever else the machine is doing."""
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(int(c) for c in children)
    return total


def report(name: str, m: dict) -> None:
    cpu = f"  server CPU {m['cpu_ms']:.1f} ms/call" if m.get("cpu_ms") is not None else ""
    print(
        f"{name:<40} {m['requests']:6d} requests  {m['rate']:7.1f}/s  "
        f"p50 {m['p50']:7.1f} ms  p95 {m['p95']:7.1f} ms  p99 {m['p99']:7.1f} ms  "
        f"errors {m['errors']}  ({m['client']}){cpu}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the instance built by an earlier run"
    )
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="mean pause of a client between requests"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--database-url",
        help="serve from this PostgreSQL database (it is emptied) instead of embedded SQLite",
    )
    args = parser.parse_args()
    built = OUT / "built.json"
    wanted = {"entries": args.entries, "rows": args.rows, "db": args.database_url}
    if args.reuse and built.exists() and json.loads(built.read_text())["size"] == wanted:
        token, big_id = (json.loads(built.read_text())[k] for k in ("token", "big_id"))
        print(f"reusing {args.entries:,} entries and a {args.rows:,}-row table")
    else:
        t = time.perf_counter()
        token, big_id = build(args.entries, args.rows, args.database_url)
        built.write_text(json.dumps({"size": wanted, "token": token, "big_id": big_id}))
        print(
            f"built {args.entries:,} entries and a {args.rows:,}-row table in "
            f"{time.perf_counter() - t:.0f} s"
        )
    if args.build_only:
        return
    env = {
        **os.environ,
        "GONGSHU_DATA_DIR": str(OUT / "var"),
        "GONGSHU_SECRET_KEY": "bench-secret",
        "GONGSHU_PORT": "8765",
        "GONGSHU_OPEN_RATE_PER_MINUTE": "100000000",
        "GONGSHU_OPEN_RATE_BURST": "100000000",
        **({"GONGSHU_DATABASE_URL": args.database_url} if args.database_url else {}),
    }
    # a reused instance may predate the newest migration: bring it to head first
    subprocess.run([sys.executable, "-m", "gongshu", "init"], env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gongshu", "serve", "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx2 as httpx

        for _ in range(100):
            if server.poll() is not None:
                raise SystemExit(f"gongshu serve exited with {server.returncode}")
            try:
                httpx.get("http://127.0.0.1:8765/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        url = "http://127.0.0.1:8765"
        search = '/api/3/action/package_search?q=养老&rows=10&facet.field=["organization"]'
        data = f"/api/3/action/datastore_search?resource_id=gs-resource-{big_id}&limit=100"
        print(
            f"{args.clients} clients, think time {args.think_ms:g} ms, "
            f"{args.workers} server process(es), {args.seconds:g} s each"
        )
        for name, path, headers in (
            (f"package_search ({args.entries:,} entries)", search, {}),
            (f"datastore_search 100 of {args.rows:,} rows", data, {"Authorization": token}),
        ):
            measure(url, min(args.clients, 8), 2, path, headers, 0)  # warm caches
            before = server_cpu(server.pid)
            m = measure(url, args.clients, args.seconds, path, headers, args.think_ms)
            if Path("/proc").is_dir() and m["requests"]:
                m["cpu_ms"] = (server_cpu(server.pid) - before) / m["requests"] * 1000
            report(name, m)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
