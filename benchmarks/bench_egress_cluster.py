"""Benchmark: one large delivery protected in process and on the Spark cluster (issue 19
item 2).

    .venv/bin/python benchmarks/bench_egress_cluster.py --rows 200000

Builds a throwaway instance under benchmarks/out/egress-cluster/, loads the table of
bench_egress.py (resident IDs sealed at rest) into an unconditional-share entry,
grants it to another agency and starts a local standalone cluster (a master and two
one-core workers). Then delivers it to CSV twice under one token: in process (the
door's worker threads) and with ``on_cluster=True`` (withholding, masking and marks on
the executors), and prints the seconds of each and whether the files are equal (they
must be: the script exits non-zero otherwise).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
from bench_egress import FIELDS, make_table

OUT = Path(__file__).resolve().parent / "out" / "egress-cluster"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()

    from gongshu import spark
    from gongshu.accounts import service as accounts
    from gongshu.app.server import init_instance
    from gongshu.capabilities import activate
    from gongshu.catalog import service as catalog
    from gongshu.config import Settings
    from gongshu.datasets import service as datasets
    from gongshu.db import transaction
    from gongshu.egress import service as egress
    from gongshu.runtime import Instance
    from gongshu.spark.cluster import LocalCluster

    activate()  # the registry every entry point installs (the door's gates)
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
        other = accounts.create_user(s, "other", "bench-password", org=cons, roles=["clerk"])
        reviewer = accounts.create_user(s, "rev", "bench-password", org=auth, roles=["reviewer"])
        from gongshu.compliance.demo import seed_provider_assessments

        fields = [
            {**f, "kind": "resident_id"} if f["name"] == "公民身份号码" else f for f in FIELDS
        ]
        entry = catalog.create(
            s,
            {
                "resource_code": "BENCH-EC",
                "name": "低保对象",
                "summary": "benchmark",
                "fields": fields,
                "update_frequency": "每月",
                "security_grade": "一般数据-3级",
                "sharing_attr": "unconditional",
                "opening_attr": "none",
            },
            actor=clerk,
        )
        catalog.submit(s, entry.id, actor=clerk)
        catalog.approve(s, entry.id, actor=reviewer)
        seed_provider_assessments(s, [clerk], [entry.id])  # PIP-8: the provider's assessment
        version = datasets.load(s, entry.id, src, actor=clerk, datasets_dir=settings.datasets_dir)
        print(f"sealed at rest: {', '.join((version.sealed or {}).get('columns') or [])}")
        grant_id = egress.take_unconditional(s, entry.id, actor=other, scenario="基准测试").id

    egress.secrets.token_hex = lambda n: "bench0000000000c1"  # one token: the same marks

    def deliver(on_cluster: bool) -> tuple[float, str]:
        with transaction(instance.session_factory) as s:
            t = time.perf_counter()
            out = egress.deliver(
                s,
                grant_id,
                actor=accounts.get_user(s, "other"),
                fmt="csv",
                datasets_dir=settings.datasets_dir,
                work_dir=OUT / "egress",
                secret=settings.secret_key,
                on_cluster=on_cluster,
            )
            secs = time.perf_counter() - t
            digest = hashlib.sha256(out.read_bytes()).hexdigest()
            out.discard()
            s.rollback()  # the token is unique: neither delivery is kept
        return secs, digest

    cluster = LocalCluster(workers=2, cores=1, memory="1g").start()
    try:
        import os

        os.environ["GONGSHU_SPARK_MASTER"] = cluster.url
        spark.session()  # started before timing: a long-lived worker holds its session
        local_s, local_hash = deliver(False)
        spark_s, spark_hash = deliver(True)
    finally:
        spark.stop()
        cluster.stop()
    print(f"rows: {args.rows:,}  CSV, share-unconditional policy, ID numbers sealed")
    print(f"in process (threads)      {local_s:7.2f} s")
    print(f"cluster (2 x 1 core)      {spark_s:7.2f} s")
    print(f"byte-equal: {local_hash == spark_hash}  sha256 {spark_hash[:16]}")
    if local_hash != spark_hash:
        sys.exit(1)


if __name__ == "__main__":
    main()
