"""Cluster tasks read stored files from the object store itself (issue 19 item 2): a
version kept on S3 (SeaweedFS) is read by the executors through pyarrow's S3 file
system, with the credentials of their worker's environment, never from a path of the
driver's disk, and gives what the in-process engine gives."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest

from gongshu.errors import InvalidInput
from gongshu.protect.anonymity import measure
from gongshu.spark import anonymity as spark_anonymity
from gongshu.storage import objects
from tests.spark.test_cluster import _people


@pytest.fixture
def s3_root(s3_server, tmp_path: Path):  # noqa: ANN001, ANN201
    """A datasets root mounted on the S3 server, unmounted afterwards."""
    root = tmp_path / "datasets"
    root.mkdir()
    prefix = f"spark-{tmp_path.name}"
    store = objects.S3Store(s3_server.filesystem(), s3_server.bucket, prefix, root)
    objects.mount(root, store)
    try:
        yield root, store
    finally:
        objects.unmount(root)


def _put(store: objects.S3Store, table, rel: str, tmp: Path) -> None:  # noqa: ANN001
    written = tmp / "upload.parquet"
    pq.write_table(table, written, row_group_size=4_000)  # four row groups, both workers
    store.put(written, rel)
    shutil.rmtree(store.cache, ignore_errors=True)  # no local copy anywhere


def test_a_version_on_s3_is_measured_by_executors_reading_the_object(
    on_cluster,  # noqa: ANN001
    s3_root,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    root, store = s3_root
    table = _people(16_000, seed=11)
    _put(store, table, "v/people.parquet", tmp_path)
    version = SimpleNamespace(path="v/people.parquet", sealed=None)
    where = store.where(version.path)
    assert isinstance(where, objects.Remote)
    assert not {"access_key", "secret_key", "session_token"} & set(where.options)
    for qi, sens in [(["age_band", "gender", "region"], ["illness", "income"]), (["born"], None)]:
        report = spark_anonymity.measure_version(root, version, qi, sens)
        assert report == measure(table, qi, sens)
        got = spark_anonymity.figures_version(root, version, qi, sens)  # the PIP-9 check's
        assert tuple(got) == (report.rows, report.k, report.l, report.equivalence_classes)
    assert not store.cache.exists()  # the driver never downloaded it either


def test_a_task_carries_no_credentials_and_a_reader_without_them_is_told(
    s3_root,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, store = s3_root
    _put(store, _people(100), "v/p.parquet", tmp_path)
    shipped = pickle.dumps(store.where("v/p.parquet"))
    assert b"gongshu-test-secret-key" not in shipped and b"secret_key" not in shipped
    where = pickle.loads(shipped)  # as a task gets it: the driver's file system stays behind
    monkeypatch.delenv("GONGSHU_S3_ACCESS_KEY", raising=False)
    monkeypatch.delenv("GONGSHU_S3_SECRET_KEY", raising=False)
    with pytest.raises(InvalidInput, match="GONGSHU_S3_ACCESS_KEY"):
        pq.ParquetFile(where.open()).read()
    monkeypatch.setenv("GONGSHU_S3_ACCESS_KEY", "gongshu-test")
    monkeypatch.setenv("GONGSHU_S3_SECRET_KEY", "gongshu-test-secret-key")
    assert pq.ParquetFile(where.open()).metadata.num_rows == 100
