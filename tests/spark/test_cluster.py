"""The heavy kernels on a real standalone cluster give what the in-process engine
gives (issue 19 item 2): discovery's scan JSON, and k, l and t."""

from __future__ import annotations

import json
import random
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gongshu.discovery import scan_paths
from gongshu.discovery import spark as discovery_spark
from gongshu.protect.anonymity import measure
from gongshu.protect.errors import InvalidParameter
from gongshu.spark import anonymity as spark_anonymity

TODAY = date(2026, 11, 22)


def test_discovery_full_scan_json_equals_the_in_process_engine(
    on_cluster,  # noqa: ANN001
    cluster,  # noqa: ANN001
    shared_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Small staged slices: the rows past the head are spread over both workers.
    monkeypatch.setattr(discovery_spark, "STAGED_BATCH_ROWS", 2_000)
    dev = shared_dir / "datasets" / "discovery-dev"
    labelled = json.loads((dev / "labels.json").read_text(encoding="utf-8"))
    paths = [dev / f for f in ("residents.csv", "clinic_visits.csv") if f in labelled]
    assert len(paths) == 2
    assert scan_paths(paths, today=TODAY, engine="spark") == scan_paths(paths, today=TODAY)
    # The tasks ran on the cluster's executors (the staged file was read where they
    # are), as their own logs say. Not necessarily on both workers: executors come and
    # go with dynamic allocation (idle ones are released after 10 s), and on a slow
    # machine the first one up may run every task before the second has started.
    app = on_cluster.sparkContext.applicationId
    work = cluster.work_dir
    assert work is not None

    def ran() -> list[int]:  # the worker copies an executor's output to its log as it comes
        logs = work.glob(f"worker-*/{app}/*/stderr")
        return [f.read_text(errors="replace").count("Running task") for f in logs]

    deadline = time.monotonic() + 30
    while not sum(ran()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sum(ran()) > 0, ran()


def _people(n: int, seed: int = 3) -> pa.Table:
    r = random.Random(seed)
    regions = ["360102", "360103", "360104", "360111", None]
    illnesses = ["高血压", "糖尿病", "哮喘", "无", None]
    return pa.table(
        {
            "age_band": [r.choice(["20-29", "30-39", "40-49", "50-59"]) for _ in range(n)],
            "gender": [r.choice(["男", "女"]) for _ in range(n)],
            "region": [r.choice(regions) for _ in range(n)],
            "born": pa.array([r.randrange(1950, 2005) for _ in range(n)], pa.int32()),
            "illness": [r.choice(illnesses) for _ in range(n)],
            "income": [r.choice([None, *range(2000, 30000, 500)]) for _ in range(n)],
        }
    )


def test_k_l_t_on_the_cluster_equal_the_in_process_measure(on_cluster, tmp_path: Path) -> None:  # noqa: ANN001
    table = _people(16_000)
    path = tmp_path / "people.parquet"
    pq.write_table(table, path, row_group_size=4_000)  # four row groups over two workers
    for qi, sens in [
        (["age_band", "gender", "region"], ["illness", "income"]),
        (["born", "gender"], "illness"),
        (["region"], None),
    ]:
        local = measure(table, qi, sens)
        for report in (
            spark_anonymity.measure_parquet(path, qi, sens),
            spark_anonymity.measure_batches(
                table.to_batches(max_chunksize=3_000), table.schema, qi, sens
            ),
        ):
            assert report == local
            assert report.as_dict() == local.as_dict()
            assert report.class_sizes.tolist() == local.class_sizes.tolist()
    empty = tmp_path / "empty.parquet"
    pq.write_table(table.slice(0, 0), empty)
    assert spark_anonymity.measure_parquet(empty, ["gender"], "illness") == measure(
        table.slice(0, 0), ["gender"], "illness"
    )
    with pytest.raises(InvalidParameter, match="表中没有列 民族"):
        spark_anonymity.measure_parquet(path, ["民族"], "illness")


def test_a_stored_version_on_the_cluster(on_cluster, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from gongshu import storage
    from gongshu.protect.keystore import FileKeyStore
    from gongshu.storage.files import write_version
    from gongshu.storage.models import DatasetVersion

    ds = tmp_path / "datasets"
    storage.unlock(ds, FileKeyStore(tmp_path / "keys" / "keystore.json", "spark-test-secret"))
    table = _people(9_000, seed=5)
    stored = write_version(
        None, ds, "entry-1/v1", table.schema, table.to_batches(max_chunksize=2_500), ["region"]
    )
    version = DatasetVersion(path=stored.path, sealed=stored.sealed)
    qi, sens = ["age_band", "gender"], ["illness"]
    # No sealed column asked for: the executors read the plain file where it lies.
    assert spark_anonymity.measure_version(ds, version, qi, sens) == measure(table, qi, sens)
    # A sealed one: the driver decrypts frame by frame and stages the columns asked for,
    # sealed under a key of the job: the staged file holds no value in the clear.
    from gongshu.spark import tasks

    staged: list[bytes] = []
    run = tasks._run

    def looking(units, task, work):  # noqa: ANN001, ANN202
        staged.extend(f.read_bytes() for f in work.iterdir())
        return run(units, task, work)

    monkeypatch.setattr(tasks, "_run", looking)
    qi = ["age_band", "region"]
    assert spark_anonymity.measure_version(ds, version, qi, sens) == measure(table, qi, sens)
    assert staged and all(len(b) > 0 for b in staged)
    for value in ("360102", "360111", "高血压", "20-29"):
        assert all(value.encode() not in b for b in staged), value
    monkeypatch.setattr(tasks, "_run", run)
    # The full scan of the version (sealed column decrypted frame by frame on the driver).
    from gongshu.datasets.classify import full_scan

    local = full_scan(ds, version, today=TODAY)
    monkeypatch.setenv("GONGSHU_ENGINE", "spark")
    assert full_scan(ds, version, today=TODAY) == local


def test_generalization_on_the_cluster_equals_the_in_process_search(
    on_cluster,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    from gongshu.protect.generalization import bands, flat, generalize, prefixes

    table = _people(12_000, seed=11)
    path = tmp_path / "people.parquet"
    pq.write_table(table, path, row_group_size=3_000)
    hierarchies = {"born": bands(5, 10, 20), "region": prefixes(4, 2), "gender": flat()}
    local = generalize(table, hierarchies, 130, max_suppression=0.1, sensitive="illness")
    got = spark_anonymity.generalize_parquet(
        path, hierarchies, 130, max_suppression=0.1, sensitive="illness"
    )
    assert got.as_dict() == local.as_dict()
    assert got.report == local.report and local.suppressed_rows > 0
    assert int(got.table.column(spark_anonymity.COUNT).to_numpy().sum()) == local.table.num_rows
