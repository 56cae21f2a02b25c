"""The PIP-9 check's k-anonymity on the cluster (issue 19 item 3): the same figures
as the in-process bounded check, the driver collecting a row per sensitive
attribute, and Spark's shuffle files holding hashes, never a resident ID.

The module's session writes its shuffle files uncompressed, so that a value in them
would be found by looking for its bytes (the control shuffles clear IDs and finds them).
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pytest

from gongshu import storage
from gongshu.datasets import anonymized
from gongshu.errors import Conflict
from gongshu.protect.keystore import FileKeyStore
from gongshu.spark import anonymity as spark_anonymity
from gongshu.spark import tasks
from gongshu.storage.files import write_version
from gongshu.storage.models import DatasetVersion


@pytest.fixture(scope="module")
def spark_conf() -> dict[str, str]:
    return {"spark.shuffle.compress": "false", "spark.shuffle.spill.compress": "false"}


def _residents(n: int, seed: int) -> pa.Table:
    r = random.Random(seed)
    streets = ["八一大道", "阳明路", "象山北路", "孺子路", None]
    return pa.table(
        {
            "street": [r.choice(streets) for _ in range(n)],
            "born": pa.array([r.choice([None, *range(1950, 1960)]) for _ in range(n)], pa.int32()),
            "score": pa.array([r.choice([0.0, -0.0, float("nan"), 1.5, None]) for _ in range(n)]),
            "id": [f"36010219{r.randrange(10**10):010d}" for _ in range(n)],
            "illness": [r.choice(["高血压", "糖尿病", "无", None]) for _ in range(n)],
            "photo": pa.array([r.choice([b"\x00\x01", b"", None]) for _ in range(n)], pa.binary()),
        }
    )


def _stored(ds: Path, table: pa.Table, stem: str, sealed: list[str]) -> DatasetVersion:
    st = write_version(None, ds, stem, table.schema, table.to_batches(max_chunksize=2_500), sealed)
    return DatasetVersion(path=st.path, sealed=st.sealed, rows=table.num_rows)


def _unlocked(tmp_path: Path) -> Path:
    ds = tmp_path / "datasets"
    storage.unlock(ds, FileKeyStore(tmp_path / "keys" / "keystore.json", "spark-test-secret"))
    return ds


def test_the_check_on_the_cluster_gives_the_bounded_check_s_figures(
    on_cluster,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ds = _unlocked(tmp_path)
    table = _residents(12_000, seed=3)
    cases = [
        (["street", "born"], ["id", "illness"]),  # near-unique and few values, nulls
        (["street", "score"], ["illness", "photo"]),  # floats, binary
        (["born"], []),  # no sensitive attribute: l is None
    ]
    monkeypatch.setenv("GONGSHU_ENGINE", "spark")
    for sealed in ([], ["id"], ["street", "id"]):  # plain file, sealed columns staged
        version = _stored(ds, table, f"e/v{len(sealed)}", sealed)
        for qi, sens in cases:
            local = anonymized.measure_bounded(ds, version, qi, sens)
            got = spark_anonymity.figures_version(ds, version, qi, sens)
            assert (got.rows, got.k, got.l, got.equivalence_classes) == (
                local.rows,
                local.k,
                local.l,
                local.equivalence_classes,
            ), (sealed, qi, sens)
            assert anonymized._measure(ds, version, qi, sens) == local  # the engine's choice
    assert local.rows == 12_000 and local.l is None
    # An empty version: no class, no l, as in process.
    for sealed in ([], ["id"]):
        empty = _stored(ds, table.slice(0, 0), f"e/empty{len(sealed)}", sealed)
        local = anonymized.measure_bounded(ds, empty, ["street"], ["id"])
        assert local == anonymized.AnonymityFigures(0, ("street",), ("id",), 0, None, 0)
        assert anonymized._measure(ds, empty, ["street"], ["id"]) == local
    with pytest.raises(Conflict, match="没有这些列：民族"):
        spark_anonymity.figures_version(ds, _stored(ds, table, "e/p", []), ["民族"], ["id"])


def _shuffle_files(cluster) -> list[Path]:  # noqa: ANN001
    local = cluster.work_dir.glob("worker-*/local/**/*")
    return [p for p in local if p.is_file() and "shuffle" in p.name]


def test_the_driver_collects_no_counts_and_the_shuffle_holds_no_resident_id(
    on_cluster,  # noqa: ANN001
    cluster,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    DataFrame = type(on_cluster.range(1))  # noqa: N806 - pyspark's classic DataFrame class
    ds = _unlocked(tmp_path)
    table = _residents(300_000, seed=7)  # as many distinct IDs, nearly, as rows
    version = _stored(ds, table, "e/big", ["id"])
    collected: list[int] = []
    collect = DataFrame.collect

    def counted(self) -> list:  # noqa: ANN001
        rows = collect(self)
        collected.append(len(rows))
        return rows

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the driver took a partial or a table of counts")

    monkeypatch.setattr(DataFrame, "collect", counted)
    for name in ("toArrow", "toPandas", "toLocalIterator", "take", "tail"):
        monkeypatch.setattr(DataFrame, name, refused)
    monkeypatch.setattr(tasks, "_run", refused)  # no pickled partials back either
    before = set(_shuffle_files(cluster))
    got = spark_anonymity.figures_version(ds, version, ["street", "born"], ["id", "illness"])
    local = anonymized.measure_bounded(ds, version, ["street", "born"], ["id", "illness"])
    assert (got.rows, got.k, got.l, got.equivalence_classes) == (
        local.rows,
        local.k,
        local.l,
        local.equivalence_classes,
    )
    assert got.rows == 300_000 and got.equivalence_classes == 55
    assert collected == [2]  # one row per sensitive attribute, whatever the rows
    # The pairs went through Spark's shuffle: its files hold hashes and counts only.
    files = [p for p in _shuffle_files(cluster) if p not in before]
    assert files, "no shuffle file to look into"
    blob = b"".join(p.read_bytes() for p in files)
    ids = table.column("id").to_pylist()
    assert len(blob) > 16 * 300_000  # two sets of near-unique pairs went through
    assert not [i for i in ids[:2_000] if i.encode() in blob]
    for value in ("八一大道", "高血压", "糖尿病"):
        assert value.encode() not in blob, value
    # The control: the same IDs shuffled as they are are in the files, found alike.
    monkeypatch.setattr(DataFrame, "collect", collect)
    before = set(_shuffle_files(cluster))
    clear = on_cluster.createDataFrame([(i,) for i in ids[:2_000]], "id string")
    assert clear.repartition(3, "id").groupBy("id").count().collect()
    blob = b"".join(p.read_bytes() for p in _shuffle_files(cluster) if p not in before)
    assert all(i.encode() in blob for i in ids[:2_000])
