"""Server CPU of each operation of bench_load.py's mix, in process (issue 20 item 1).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_load_ops.py [--n 40] [--reuse]
    PYTHONPATH=src .venv/bin/python benchmarks/bench_load_ops.py --reuse --profile draft

Builds the same instance as bench_load.py (under benchmarks/out/load-ops; --reuse
keeps the last one), builds the app with ``create_app`` beside a job worker thread as
``gongshu serve`` does, and drives each request straight through ASGI (no socket, no
HTTP parsing), timing it with ``time.process_time``: CPU of the whole process, worker
threads included, which a loaded machine inflates far less than wall time. Prints the
best, first quartile and median of N requests of each kind. "open_search_after_draft"
is an open catalog search right after a catalog draft (what the mix often does), and
"clerk_search_after_draft" the clerk's search after one.

``--profile KIND`` runs N requests of KIND under cProfile with worker-thread calls run
inline (so the profile sees the handlers), and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_load  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "load-ops"
KINDS = [
    "draft",
    "declare",
    "open_search",
    "open_search_after_draft",
    "package_search",
    "clerk_search",
    "clerk_search_after_draft",
    "portal",
]


class Requests:
    def __init__(self, tokens: dict) -> None:
        self.tokens = tokens
        self.clerk = {"authorization": f"Bearer {tokens['clerk']}"}
        self.citizens = [{"authorization": f"Bearer {t}"} for t in tokens["citizens"]]
        self.rng = random.Random(1)
        self.run = f"ops{os.getpid()}"
        self.drafts = 0

    def make(self, kind: str) -> tuple[str, str, dict, bytes]:
        rng, word = self.rng, quote(self.rng.choice(bench_load.WORDS))
        json_type = {"content-type": "application/json"}
        if kind == "package_search":
            return "GET", f"/api/3/action/package_search?q={word}&rows=10", {}, b""
        if kind == "open_search":
            return "GET", f"/api/v1/open/entries?q={word}&limit=10", {}, b""
        if kind == "clerk_search":
            return "GET", f"/api/v1/catalog?q={word}&limit=10", self.clerk, b""
        if kind == "portal":
            return "GET", f"/open?q={word}", {}, b""
        if kind == "draft":
            self.drafts += 1
            body = {
                "resource_code": f"DRAFT-{self.run}-{self.drafts}",
                "name": f"{rng.choice(bench_load.WORDS)}草稿{self.drafts}",
                "summary": "压力测试草稿",
                "fields": [{"name": "编号"}],
            }
            return "POST", "/api/v1/catalog", {**self.clerk, **json_type}, _json(body)
        if kind == "declare":
            entry = rng.choice(self.tokens["entries"])
            body = {"use": "压力测试", "scenario": "并发声明"}
            path = f"/api/v1/open/entries/{entry}/declarations"
            return "POST", path, {**rng.choice(self.citizens), **json_type}, _json(body)
        raise KeyError(kind)


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


async def call(app, method: str, path: str, headers: dict, body: bytes) -> tuple[int, bytes]:  # noqa: ANN001
    bare, _, query = path.partition("?")
    raw = [(b"host", b"127.0.0.1:8000")] + [(k.encode(), v.encode()) for k, v in headers.items()]
    if body:
        raw.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": bare,
        "raw_path": bare.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = [False]

    async def receive() -> dict:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    status, chunks = [0], []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status[0], b"".join(chunks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40, help="requests of each kind")
    parser.add_argument("--reuse", action="store_true", help="keep the last instance")
    parser.add_argument("--profile", choices=KINDS)
    args = parser.parse_args()

    bench_load.OUT = OUT
    saved = OUT.parent / "load-ops-tokens.json"
    if args.reuse and saved.exists():
        tokens = json.loads(saved.read_text())
    else:
        tokens = bench_load.build(None)
        saved.write_text(json.dumps(tokens))
    os.environ["GONGSHU_OPEN_RATE_PER_MINUTE"] = os.environ["GONGSHU_OPEN_RATE_BURST"] = "100000000"

    import gc

    from gongshu import capabilities
    from gongshu.app.factory import create_app
    from gongshu.config import Settings
    from gongshu.jobs import Worker

    settings = Settings(data_dir=OUT / "var", secret_key="bench-secret")
    app = create_app(settings)
    capabilities.load_job_handlers()
    thread, stop = Worker(app.state.instance.session_factory, settings=settings).start_thread()
    gc.collect()
    gc.freeze()
    requests = Requests(tokens)
    if args.profile:
        import anyio.to_thread

        async def inline(func, *fargs, **_kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            return func(*fargs)

        anyio.to_thread.run_sync = inline  # the profile sees the handlers' calls

    async def one(kind: str, profile: cProfile.Profile | None = None) -> float:
        if kind.endswith("_after_draft"):
            await call(app, *requests.make("draft"))
            kind = kind.removesuffix("_after_draft")
        request = requests.make(kind)
        if profile is not None:
            profile.enable()
        began = time.process_time()
        status, body = await call(app, *request)
        took = time.process_time() - began
        if profile is not None:
            profile.disable()
        if status >= 300:
            raise SystemExit(f"{kind}: {status} {body[:300]!r}")
        return took

    async def run() -> None:
        for kind in KINDS:  # warm up: imports, statement caches, the text index
            for _ in range(3):
                await one(kind)
        if args.profile:
            profile = cProfile.Profile()
            for _ in range(args.n):
                await one(args.profile, profile)
            stats = pstats.Stats(profile)
            stats.sort_stats("cumulative").print_stats(50)
            stats.sort_stats("tottime").print_stats(30)
            return
        print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
        for kind in KINDS:
            took = sorted([await one(kind) for _ in range(args.n)])
            print(
                f"{kind:25s} best {took[0] * 1000:6.2f} ms  q1 {took[len(took) // 4] * 1000:6.2f}"
                f"  median {statistics.median(took) * 1000:6.2f} ms",
                flush=True,
            )
        print(f"load average {os.getloadavg()[0]:.1f}", flush=True)

    try:
        asyncio.run(run())
    finally:
        stop.set()
        thread.join(10)


if __name__ == "__main__":
    main()
