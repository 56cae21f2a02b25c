"""Federation propagation (issue 18): how long a catalog change on a city node takes to
reach the province, and how long the province takes to catch up after a partition.

    .venv/bin/python benchmarks/bench_federation.py                   # 2,000 changes
    .venv/bin/python benchmarks/bench_federation.py --changes 10000
    GONGSHU_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/bench_federation.py               # province on PG

A province and a city run as two ``gongshu serve`` processes with databases of their
own (the province on PostgreSQL when GONGSHU_TEST_DATABASE_URL is set), joined with
the anchor and the province's approval, as in tests/federation/test_network.py. The
script then makes ``--changes`` catalog changes on the city (creates, then renames and
edits of random entries, each in its own transaction, as fast as one writer can),
records when each (entry, version) was committed, and polls the province's database
every 100 ms for the first moment it holds that version or a newer one. Latency is
arrival minus commit; p50 and p95 are over every change.

Then the partition: the province is stopped, ``--partition`` more changes are made,
the province is restarted, and the catch-up time is measured from the moment it
answers again to the moment it holds every change.

Baseline: CKAN harvesting runs a gather/fetch/import job on cron, typically daily, so
its propagation latency is on the order of the cron interval (hours); the aim set by
the issue is a p95 under 5 seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--partition", type=int, default=500)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()

    from sqlalchemy import select

    from gongshu.catalog import service as catalog
    from gongshu.catalog.models import CatalogEntry
    from gongshu.db import transaction
    from gongshu.federation import members
    from gongshu.federation.models import FederatedEntry, JoinRequest
    from tests.federation.test_network import (
        _data,
        _env,
        _free_port,
        _run,
        _serve,
        _stop,
        _user,
    )
    from tests.instances import fresh_database, new_instance, settings_for

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, fresh_database("benchfed") as prov_url:
        tmp_path = Path(tmp)
        prov_dir, city_dir = tmp_path / "province", tmp_path / "city"
        prov_port, city_port = _free_port(), _free_port()
        province, _ = new_instance(settings_for(prov_dir, prov_url))
        city, _ = new_instance(settings_for(city_dir, None))
        prov_env, city_env = _env(prov_dir, prov_url), _env(city_dir, None)
        address = f"http://127.0.0.1:{prov_port}"
        servers = []
        try:
            _run(prov_env, "node", "init", "--role", "province", "--region", "360000",
                 "--address", address)  # fmt: skip
            anchor = tmp_path / "anchor.json"
            _run(prov_env, "node", "anchor", "--out", str(anchor))
            servers.append(_serve(prov_env, prov_port))
            _run(city_env, "node", "init", "--role", "city", "--region", "360100",
                 "--address", f"http://127.0.0.1:{city_port}", "--join", address,
                 "--anchor", str(anchor))  # fmt: skip
            servers.append(_serve(city_env, city_port))
            with transaction(province.session_factory) as session:
                request = session.scalar(select(JoinRequest))
                members.decide(
                    session, request.id, actor=_user(session, "reviewer_prov"), approve=True
                )

            committed: dict[tuple[int, int], float] = {}
            arrived: dict[tuple[int, int], float] = {}
            counter = [1]

            def change() -> None:
                with transaction(city.session_factory) as session:
                    clerk = _user(session, "clerk_county")
                    ids = session.scalars(select(CatalogEntry.id)).all()
                    if len(ids) < 50 or rng.random() < 0.2:
                        entry = catalog.create(session, _data(counter[0]), actor=clerk)
                        counter[0] += 1
                    else:
                        entry_id = rng.choice(ids)
                        if rng.random() < 0.5:
                            patch = {"name": f"更名{rng.random():.8f}"}
                        else:
                            patch = {"summary": f"{rng.random()}"}
                        entry = catalog.update(session, entry_id, patch, actor=clerk)
                    key = (entry.id, entry.version_no)
                session_done = time.monotonic()
                committed[key] = session_done

            def poll() -> None:
                now = time.monotonic()
                with transaction(province.session_factory) as session:
                    held = dict(
                        session.execute(
                            select(FederatedEntry.home_entry_id, FederatedEntry.version_no)
                        ).all()
                    )
                for key in committed.keys() - arrived.keys():
                    if held.get(key[0], 0) >= key[1]:
                        arrived[key] = now

            def wait_all(timeout: float) -> None:
                deadline = time.monotonic() + timeout
                while len(arrived) < len(committed):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"{len(committed) - len(arrived)} changes never arrived")
                    poll()
                    time.sleep(0.1)

            # Steady state: changes as fast as one writer commits them, the province polled.
            started, last_poll = time.monotonic(), 0.0
            for _ in range(args.changes):
                change()
                if time.monotonic() - last_poll >= 0.1:
                    poll()
                    last_poll = time.monotonic()
            made_in = time.monotonic() - started
            wait_all(600)
            latencies = sorted(arrived[k] - committed[k] for k in committed)
            steady = {
                "changes": len(committed),
                "commit_rate_per_s": round(len(committed) / made_in, 1),
                "p50_s": round(statistics.median(latencies), 2),
                "p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
                "max_s": round(latencies[-1], 2),
            }

            # A partition: the province stops while the city changes, then returns.
            _stop(servers.pop(0))
            committed.clear()
            arrived.clear()
            for _ in range(args.partition):
                change()
            restarted = time.monotonic()
            servers.insert(0, _serve(prov_env, prov_port))
            answering = time.monotonic()
            wait_all(600)
            caught_up = max(arrived.values())
            result = {
                "province_database": "postgresql" if prov_url else "sqlite",
                "steady": steady,
                "partition": {
                    "changes_while_away": args.partition,
                    "restart_s": round(answering - restarted, 2),
                    "catch_up_s": round(caught_up - answering, 2),
                },
                "baseline": "CKAN harvesting: a cron job, typically daily (latency ~ hours)",
            }
            print(json.dumps(result, ensure_ascii=False, indent=2))
        finally:
            for server in servers:
                _stop(server)
            province.close()
            city.close()


if __name__ == "__main__":
    main()
