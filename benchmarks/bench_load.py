"""Serving under load (issue 20 item 1): a mixed read/write workload, 60% reads and 40%
writes, at 10, 50, 200 and 1,000 concurrent clients against a real `gongshu serve`.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_load.py
    PYTHONPATH=src .venv/bin/python benchmarks/bench_load.py --workers 2 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/h_serving

Builds a throwaway instance under benchmarks/out/load (2,000 open catalog entries, an
agency clerk and 50 verified citizens with API tokens; a PostgreSQL database given
with --database-url is emptied first), serves it with `gongshu serve` in a child
process on loopback (rate limits raised out of the way) and drives it from this
process with N clients on keep-alive connections (a small HTTP/1.1 client on asyncio
streams: httpx costs more CPU a request than the server at 1,000 clients on 2 shared
cores). Each client sends its next request when the last is answered (no think time:
a saturation test) and picks it at random:

- reads (60%): CKAN `package_search` (public), the open catalog API, the clerk's own
  catalog search (token), the portal's HTML page;
- writes (40%): a catalog draft created by the clerk (token; a catalog change, its
  history row and a ledger entry), or a citizen's use declaration of an open entry
  (token; a grant, the declaration and two ledger entries).

A client that gets a 503 waits what `Retry-After` says, as a well-behaved client does;
503s are counted as 5xx all the same. Latency is measured per answered request,
queueing in the server included. Server CPU is read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

OUT = Path(__file__).resolve().parent / "out" / "load"
WORDS = ["养老", "医疗", "教育", "交通", "社保", "环境", "企业", "人口"]
ENTRIES = 2000
CITIZENS = 50


def build(database_url: str | None) -> dict:
    from sqlalchemy import insert, select

    from gongshu.accounts import service as accounts
    from gongshu.app.server import init_instance
    from gongshu.catalog import service as catalog
    from gongshu.catalog.models import CatalogEntry
    from gongshu.config import Settings
    from gongshu.db import transaction
    from gongshu.runtime import Instance
    from gongshu.timeutil import utcnow

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
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
    ttl = timedelta(hours=6)
    with transaction(inst.session_factory) as s:
        accounts.add_region(s, "360000", "江西省")
        auth = accounts.add_organization(
            s, "江西省数据局", kind="data_authority", region_code="360000"
        )
        agency = accounts.add_organization(s, "江西省民政厅", kind="agency", region_code="360000")
        clerk = accounts.create_user(s, "clerk", "bench-password", org=agency, roles=["clerk"])
        rev = accounts.create_user(s, "rev", "bench-password", org=auth, roles=["reviewer"])
        first = catalog.create(
            s,
            {
                "resource_code": "LOAD-00000",
                "name": "养老数据集0",
                "summary": "压力测试",
                "fields": [{"name": "编号"}, {"name": "机构"}],
                "update_frequency": "每月",
                "security_grade": "一般数据-1级",
                "sharing_attr": "unconditional",
                "opening_attr": "unconditional",
            },
            actor=clerk,
        )
        catalog.submit(s, first.id, actor=clerk)
        catalog.approve(s, first.id, actor=rev)
        keep = (
            "summary fields update_frequency security_grade sharing_attr opening_attr formats "
            "themes load_policy provider_org_id tier region_code"
        ).split()
        template = {c: getattr(first, c) for c in keep}
        s.execute(
            insert(CatalogEntry),
            [
                {
                    **template,
                    "resource_code": f"LOAD-{i:05d}",
                    "status": "approved",
                    "name": f"{WORDS[i % 8]}数据集{i}",
                    "version_no": 3,
                    "published_version": 3,
                    "provincial": True,
                }
                for i in range(1, ENTRIES)
            ],
        )
        entry_ids = list(
            s.scalars(select(CatalogEntry.id).where(CatalogEntry.status == "approved"))
        )
        clerk_token, _ = accounts.issue_token(s, clerk, kind="api", ttl=ttl)
        citizens = []
        for i in range(CITIZENS):
            c = accounts.create_user(s, f"citizen{i}", "bench-password", roles=["public"])
            c.identity_verified_at, c.identity_method = utcnow(), "bench"
            citizens.append(accounts.issue_token(s, c, kind="api", ttl=ttl)[0])
    inst.close()
    return {"clerk": clerk_token, "citizens": citizens, "entries": entry_ids}


# ---------------------------------------------------------------- the client


class Connection:
    """One keep-alive HTTP/1.1 connection (Content-Length and chunked answers)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body or method != "GET":
            head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        got = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                got[k.strip().lower()] = v.strip()
        if "content-length" in got:
            data = await self.reader.readexactly(int(got["content-length"]))
        elif got.get("transfer-encoding") == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            data = b"".join(p[:-2] for p in parts)
        else:
            data = await self.reader.read()
            got["connection"] = "close"
        if got.get("connection", "").lower() == "close":
            self.close()
        return status, got, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Workload:
    def __init__(self, tokens: dict) -> None:
        self.clerk = {"Authorization": f"Bearer {tokens['clerk']}"}
        self.citizens = [{"Authorization": f"Bearer {t}"} for t in tokens["citizens"]]
        self.entries = tokens["entries"]
        self.drafts = 0
        self.run = f"{os.getpid()}-{int(time.time()) % 100000}"

    def next(self, rng: random.Random) -> tuple[str, str, str, dict, bytes]:
        """(kind, method, path, headers, body) of a random request."""
        word = quote(rng.choice(WORDS))
        if rng.random() < 0.6:
            pick = rng.random()
            if pick < 0.4:
                path = f"/api/3/action/package_search?q={word}&rows=10"
                return "read", "GET", path, {}, b""
            if pick < 0.6:
                return "read", "GET", f"/api/v1/open/entries?q={word}&limit=10", {}, b""
            if pick < 0.8:
                return "read", "GET", f"/api/v1/catalog?q={word}&limit=10", self.clerk, b""
            return "read", "GET", f"/open?q={word}", {}, b""
        json_headers = {"Content-Type": "application/json"}
        if rng.random() < 0.6:
            self.drafts += 1
            body = {
                "resource_code": f"DRAFT-{self.run}-{self.drafts}",
                "name": f"{rng.choice(WORDS)}草稿{self.drafts}",
                "summary": "压力测试草稿",
                "fields": [{"name": "编号"}],
            }
            return "write", "POST", "/api/v1/catalog", {**self.clerk, **json_headers}, _json(body)
        entry = rng.choice(self.entries)
        body = {"use": "压力测试", "scenario": "并发声明"}
        headers = {**rng.choice(self.citizens), **json_headers}
        path = f"/api/v1/open/entries/{entry}/declarations"
        return "write", "POST", path, headers, _json(body)


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


async def drive(port: int, clients: int, seconds: float, work: Workload, seed: int) -> dict:
    """``clients`` closed-loop clients for ``seconds``; latencies and status counts."""
    latencies: dict[str, list[float]] = {"read": [], "write": []}
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    slow_503 = [0]
    deadline = time.perf_counter() + seconds

    async def client(i: int) -> None:
        rng = random.Random(seed * 100003 + i)
        conn = Connection("127.0.0.1", port)
        await asyncio.sleep(rng.random() * min(1.0, seconds / 10))  # spread the connects
        try:
            while time.perf_counter() < deadline:
                kind, method, path, headers, body = work.next(rng)
                t = time.perf_counter()
                try:
                    status, got, _ = await asyncio.wait_for(
                        conn.request(method, path, headers, body), timeout=120
                    )
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                    name = type(exc).__name__
                    errors[name] = errors.get(name, 0) + 1
                    conn.close()
                    continue
                took = time.perf_counter() - t
                statuses[status] = statuses.get(status, 0) + 1
                if status == 503:
                    slow_503[0] += took > 1.0
                    pause = float(got.get("retry-after", "1"))
                    await asyncio.sleep(min(pause, max(0.0, deadline - time.perf_counter())))
                    continue
                latencies[kind].append(took)
        finally:
            conn.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    return {"latencies": latencies, "statuses": statuses, "errors": errors, "slow_503": slow_503[0]}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def server_cpu(pid: int) -> float:
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default="10,50,200,1000")
    parser.add_argument("--seconds", type=float, default=20, help="per level")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--database-url", help="PostgreSQL database to empty and serve from")
    parser.add_argument("--env", action="append", default=[], help="extra NAME=VALUE for serve")
    parser.add_argument(
        "--profile-server",
        metavar="PATH",
        help="run the server under profile_serve.py (every thread, thread CPU time) and "
        "write its merged cProfile statistics to PATH when it stops",
    )
    args = parser.parse_args()

    # 1,000 clients and their 1,000 server-side sockets: raise the descriptor limit
    # (the server inherits it).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    t = time.perf_counter()
    tokens = build(args.database_url)
    print(f"built the instance in {time.perf_counter() - t:.0f} s", flush=True)
    port = free_port()
    env = {
        **os.environ,
        "GONGSHU_DATA_DIR": str(OUT / "var"),
        "GONGSHU_SECRET_KEY": "bench-secret",
        "GONGSHU_PORT": str(port),
        "GONGSHU_HOST": "127.0.0.1",
        "GONGSHU_OPEN_RATE_PER_MINUTE": "100000000",
        "GONGSHU_OPEN_RATE_BURST": "100000000",
        **({"GONGSHU_DATABASE_URL": args.database_url} if args.database_url else {}),
        **dict(e.split("=", 1) for e in args.env),
    }
    log = open(OUT / "serve.log", "wb")  # noqa: SIM115
    command = ["-m", "gongshu"]
    if args.profile_server:
        command = [str(Path(__file__).resolve().parent / "profile_serve.py"), args.profile_server]
    server = subprocess.Popen(
        [sys.executable, *command, "serve", "--workers", str(args.workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    work = Workload(tokens)
    results = []
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gongshu serve exited with {server.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gongshu serve did not start") from None
                time.sleep(0.3)
        asyncio.run(drive(port, 4, 2, work, seed=0))  # warm up
        db = "PostgreSQL" if args.database_url else "SQLite"
        print(
            f"{db}, {args.workers} server process(es), {args.seconds:g} s a level, "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        for level, clients in enumerate(int(c) for c in args.clients.split(",")):
            time.sleep(2)  # let the previous level drain
            before = server_cpu(server.pid)
            t = time.perf_counter()
            got = asyncio.run(drive(port, clients, args.seconds, work, seed=level + 1))
            wall = time.perf_counter() - t
            every = got["latencies"]["read"] + got["latencies"]["write"]
            answered = sum(got["statuses"].values())
            row = {
                "db": db,
                "workers": args.workers,
                "clients": clients,
                "answered": answered,
                "ok": len(every),
                "rate": len(every) / wall,
                "p50": percentile(every, 0.50),
                "p95": percentile(every, 0.95),
                "p99": percentile(every, 0.99),
                "read_p95": percentile(got["latencies"]["read"], 0.95),
                "write_p95": percentile(got["latencies"]["write"], 0.95),
                "max": max(every, default=0) * 1000,
                "5xx": sum(n for s, n in got["statuses"].items() if s >= 500),
                "503": got["statuses"].get(503, 0),
                "slow_503": got["slow_503"],
                "other": {
                    str(s): n for s, n in got["statuses"].items() if s >= 300 and s not in (503,)
                },
                "errors": got["errors"],
                "cpu_ms": (server_cpu(server.pid) - before) / max(answered, 1) * 1000,
                "load": os.getloadavg()[0],
            }
            results.append(row)
            print(
                f"{clients:5d} clients  {row['rate']:7.1f} ok/s  p50 {row['p50']:7.1f} ms  "
                f"p95 {row['p95']:7.1f} ms (reads {row['read_p95']:.1f}, writes "
                f"{row['write_p95']:.1f})  p99 {row['p99']:7.1f} ms  max {row['max']:.0f} ms  "
                f"5xx {row['5xx']} (503 {row['503']}, slow {row['slow_503']})  "
                f"other {row['other']}  errors {row['errors']}  "
                f"CPU {row['cpu_ms']:.1f} ms/answer  load {row['load']:.1f}",
                flush=True,
            )
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    with open(OUT.parent / "load-results.jsonl", "a") as fh:
        for row in results:
            fh.write(json.dumps({"at": time.strftime("%Y-%m-%d %H:%M:%S"), **row}) + "\n")


if __name__ == "__main__":
    main()
