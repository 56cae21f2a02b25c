"""Reading a stored file batch by batch holds a row group at a time, not the file
(issue 19 item 3): pyarrow's ``ParquetFile`` buffers every row group's column chunks
before the first batch unless told not to."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gongshu import storage
from gongshu.tabular import open_table

GROUPS, GROUP_ROWS = 40, 25_000  # random int64: about 200 KB a row group, 8 MB in all


def _file(path) -> int:  # noqa: ANN001
    rng = np.random.default_rng(3)
    table = pa.table(
        {"n": rng.integers(0, 2**62, GROUPS * GROUP_ROWS), "k": np.arange(GROUPS * GROUP_ROWS)}
    )
    pq.write_table(table, path, row_group_size=GROUP_ROWS, compression="zstd")
    return path.stat().st_size


def _held(batches) -> tuple[int, int]:  # noqa: ANN001
    """Rows read, and the most Arrow memory held above the start while reading."""
    start, most, rows = pa.total_allocated_bytes(), 0, 0
    for batch in batches:
        rows += batch.num_rows
        most = max(most, pa.total_allocated_bytes() - start)
    return rows, most


def test_a_stored_version_is_streamed_a_row_group_at_a_time(tmp_path) -> None:  # noqa: ANN001
    datasets_dir = tmp_path / "datasets"
    (datasets_dir / "v").mkdir(parents=True)
    size = _file(datasets_dir / "v" / "plain.parquet")
    version = SimpleNamespace(id=1, path="v/plain.parquet", sealed=None)
    for batches in (
        storage.batch_reader(datasets_dir, version, ["n"], rows_per_batch=GROUP_ROWS),
        storage.stream(datasets_dir, version, rows_per_batch=GROUP_ROWS).batches,
    ):
        rows, most = _held(batches)
        assert rows == GROUPS * GROUP_ROWS
        assert most < size / 4  # a few row groups, not the file (all of it before)


def test_a_parquet_source_is_read_a_row_group_at_a_time(tmp_path) -> None:  # noqa: ANN001
    size = _file(tmp_path / "source.parquet")
    rows, most = _held(open_table(tmp_path / "source.parquet", rows_per_batch=GROUP_ROWS).batches)
    assert rows == GROUPS * GROUP_ROWS
    assert most < size / 4
