"""Run a Python kernel over Arrow batches on Spark executors and bring back partials.

Two sources, both read by the executors' Python workers with pyarrow inside
``mapInArrow`` (no JVM row conversion; Hadoop's S3 jars are not needed):

- ``map_staged``: batches the driver already has (a file being scanned, a version
  whose sealed columns only the driver may open) are staged as one file of slices of
  at most ``STAGED_BATCH_ROWS`` rows, each slice sealed (SM4-GCM) under a key drawn
  for the job that only the tasks receive; each task decrypts its slices and runs
  the kernel on them.
- ``map_ordered``: as ``map_staged``, for results as large as their batches: each
  comes back sealed under a second job key and the driver takes them one at a time,
  in order.
- ``map_parquet``: a stored Parquet file is read where it lies, one row group per
  task unit, only the columns asked for: from shared storage, or from the object
  store (S3) through pyarrow with the worker's own credentials.
- ``frame_staged`` and ``frame_parquet``: the same two sources, but the kernel's
  output batches become a Spark DataFrame that stays on the cluster, for kernels
  whose partials do not shrink (counts of distinct rows over a near-unique column):
  Spark's own shuffle aggregates them and the driver collects only the result.

Partials come back through the staging directory too (a pickle file per task), not
through Spark's rows: they can be large, and the JVM's heap is not their place.

The kernel maps one ``pa.RecordBatch`` to a picklable partial result and ``merge``
folds a task's partials (in source order) into one; the driver gets one partial per
task back in the order of the source (Spark keeps partition order in
``collect``), so a merge that depends on order (first appearance) sees the same
order as a single pass would.

Executors must see the path: on one machine any directory does; on a cluster the
staging directory (``GONGSHU_SPARK_STAGING``, default the system temporary
directory) and the datasets directory must be shared storage.
"""

from __future__ import annotations

import itertools
import os
import pickle
import shutil
import sys
import tempfile
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc  # noqa: F401 - pa.ipc
import pyarrow.parquet as pq

from gongshu.protect.crypto import sm4_gcm_decrypt, sm4_gcm_encrypt
from gongshu.spark.context import quiet_pyspark, session
from gongshu.storage import scratch
from gongshu.storage.objects import Remote

# Staged batches small enough that Spark spreads a file over all its cores.
STAGED_BATCH_ROWS = 65_536

Kernel = Callable[[pa.RecordBatch], Any]
Merge = Callable[[list[Any]], Any]
# A kernel whose output stays on the cluster: Arrow batches of a fixed Spark schema.
BatchKernel = Callable[[pa.RecordBatch], Iterable[pa.RecordBatch]]


def staging_dir() -> str | None:
    """Where staged files go (``GONGSHU_SPARK_STAGING``; shared storage on a cluster)."""
    return os.environ.get("GONGSHU_SPARK_STAGING") or None


STAGING_AREA = "gongshu-spark"  # the drivers' directory under the staging root


def job_dir() -> Path:
    """A fresh directory for one job's staged batches and partial results, inside this
    driver process's own directory of the staging area (``<staging>/gongshu-spark/
    <owner>/``, locked for the life of the process: ``storage.scratch``). Each new job
    first removes the directories of drivers that died, however they died: a killed
    driver's staged batches and partials (sealed, but gigabytes) go at once, and the
    directories of drivers still running are never touched."""
    base = Path(staging_dir() or tempfile.gettempdir()) / STAGING_AREA
    scratch.sweep_area(base)
    return Path(tempfile.mkdtemp(prefix="job-", dir=scratch.owner_in(base).dir))


def _run(units: int, task: Callable[[list[int]], Any], work: Path) -> list[Any]:
    """``task(unit numbers)`` on executors, one result per Spark partition, in order.

    Each task writes its pickled partial to ``work`` (the staging directory) and
    returns only the file's name: a partial may be large (counts of distinct rows),
    and a large binary cell would go through the JVM's heap."""
    spark = session()
    where = str(work)

    def kernel(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        ids: list[int] = []
        for part in it:
            ids.extend(part.column(0).to_pylist())
        name = ""
        if ids:
            name = f"partial-{ids[0]}.pickle"
            tmp = Path(where, name + ".tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(task(ids), fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(Path(where, name))  # a retried task overwrites whole
        yield pa.RecordBatch.from_pydict({"first": [ids[0] if ids else -1], "partial": [name]})

    slices = max(1, min(units, spark.sparkContext.defaultParallelism))
    with quiet_pyspark():
        rows = (
            spark.range(0, units, 1, slices)
            .mapInArrow(kernel, "first long, partial string")
            .collect()
        )
    out = []
    for row in sorted((r for r in rows if r["first"] >= 0), key=lambda r: r["first"]):
        path = work / row["partial"]
        with open(path, "rb") as fh:
            out.append(pickle.load(fh))  # noqa: S301 - our own executors' output
        path.unlink()
    return out


def _frame(units: int, task: Callable[[Iterator[int]], Iterator[pa.RecordBatch]], schema: str):  # noqa: ANN202 - a pyspark DataFrame
    """The batches ``task(unit numbers)`` yields on the executors, as a lazy DataFrame
    of ``schema`` (a Spark DDL string) over ``units`` units, never collected here."""
    spark = session()

    def kernel(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from task(i for part in it for i in part.column(0).to_pylist())

    slices = max(1, min(units, spark.sparkContext.defaultParallelism))
    with quiet_pyspark():
        return spark.range(0, units, 1, slices).mapInArrow(kernel, schema)


@contextmanager
def frame_staged(
    batches: Iterable[pa.RecordBatch],
    kernel: BatchKernel,
    schema: str,
    *,
    rows: int | None = None,
) -> Iterator[Any]:
    """A DataFrame of ``kernel``'s output over ``batches`` (staged as in ``map_staged``:
    sealed under a job key that only the tasks receive), usable inside the ``with``
    block; the staged file is removed when it ends."""
    staged = _stage(batches, rows or STAGED_BATCH_ROWS)
    try:
        yield staged.frame(kernel, schema)
    finally:
        staged.remove()


@contextmanager
def frame_parquet(
    path: Path | Remote, columns: list[str] | None, kernel: BatchKernel, schema: str
) -> Iterator[Any]:
    """A DataFrame of ``kernel``'s output over each row group of the Parquet file at
    ``path`` (``columns`` only), read where it lies by the executors, as ``map_parquet``."""
    groups = parquet_file(path).metadata.num_row_groups

    def task(ids: Iterator[int]) -> Iterator[pa.RecordBatch]:
        opened = None
        try:
            for i in ids:
                opened = opened or parquet_file(path)
                for batch in opened.read_row_group(i, columns=columns).to_batches():
                    yield from kernel(batch)
        finally:
            if opened is not None:
                opened.close()

    yield _frame(groups, task, schema)


def map_staged(
    batches: Iterable[pa.RecordBatch],
    kernel: Kernel,
    merge: Merge,
    *,
    rows: int | None = None,
) -> list[Any]:
    """``kernel`` over ``batches`` (re-sliced to at most ``rows``): one merged partial
    per task, in the batches' order.

    The staged file never holds a value in the clear: each slice is an Arrow IPC stream
    sealed with SM4-GCM under a key drawn for this job (its number authenticated, so a
    slice cannot be swapped), and the key travels with the tasks only, in memory. What
    the driver decrypted (sealed columns) or read (a file being scanned) is ciphertext
    on the shared staging storage."""
    staged = _stage(batches, rows or STAGED_BATCH_ROWS)
    try:
        return staged.run(kernel, merge)
    finally:
        staged.remove()


class _Staged:
    """A staged file of sealed slices (``map_staged``) and its job key."""

    def __init__(self, tmp: Path, key: bytes, spans: list[tuple[int, int]]) -> None:
        self.tmp, self.key, self.spans = tmp, key, spans

    def run(self, kernel: Kernel, merge: Merge) -> list[Any]:
        if not self.spans:
            return []
        staged, key, spans = str(self.tmp / "staged.sealed"), self.key, self.spans

        def task(ids: list[int]) -> list[Any]:
            out = []
            with open(staged, "rb") as fh:
                for i in ids:
                    offset, size = spans[i]
                    plain = sm4_gcm_decrypt(key, os.pread(fh.fileno(), size, offset), _aad(i))
                    out.append(kernel(pa.ipc.open_stream(plain).read_next_batch()))
            return merge(out)

        return _run(len(spans), task, self.tmp)

    def frame(self, kernel: BatchKernel, schema: str):  # noqa: ANN201 - a pyspark DataFrame
        staged, key, spans = str(self.tmp / "staged.sealed"), self.key, self.spans

        def task(ids: Iterator[int]) -> Iterator[pa.RecordBatch]:
            with open(staged, "rb") as fh:
                for i in ids:
                    offset, size = spans[i]
                    plain = sm4_gcm_decrypt(key, os.pread(fh.fileno(), size, offset), _aad(i))
                    yield from kernel(pa.ipc.open_stream(plain).read_next_batch())

        return _frame(len(spans), task, schema)

    def remove(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _stage(batches: Iterable[pa.RecordBatch], step: int) -> _Staged:
    """``batches`` in slices of at most ``step`` rows, each sealed under a new job key."""
    tmp = job_dir()
    key = os.urandom(16)
    try:
        spans: list[tuple[int, int]] = []
        with open(tmp / "staged.sealed", "wb") as out:
            for batch in batches:
                for start in range(0, batch.num_rows, step):
                    sink = pa.BufferOutputStream()
                    with pa.ipc.new_stream(sink, batch.schema) as writer:
                        writer.write_batch(batch.slice(start, step))
                    blob = sm4_gcm_encrypt(key, sink.getvalue().to_pybytes(), _aad(len(spans)))
                    spans.append((out.tell(), len(blob)))
                    out.write(blob)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _Staged(tmp, key, spans)


def _aad(number: int) -> bytes:
    return b"gongshu-spark-staged:" + number.to_bytes(8, "big")


# Batches a job of ``map_ordered`` takes: while the cluster runs one window, the driver
# stages the next and writes out the one before (1M rows in a few windows).
ORDERED_WINDOW = 8


def map_ordered(batches: Iterable[pa.RecordBatch], kernel: Kernel) -> Iterator[Any]:
    """``kernel(batch)`` for each of ``batches``, as they are (never re-sliced: a caller
    writing the results sees its own batches), on the executors, yielded in the
    batches' order: for results as large as their batches (a delivery's protected
    rows, a load's converted rows).

    The batches go out as in ``map_staged``, ``ORDERED_WINDOW`` batches a Spark job:
    the job runs on a thread of the driver while the driver stages the next window and
    hands out the results of the one before, so staging, the cluster's work and the
    caller's writing overlap, and the staging directory holds at most three windows.
    Each result comes back pickled and sealed with SM4-GCM under a second key drawn
    for the job (the result file's name authenticated, so results cannot be swapped),
    one file per batch; the driver reads, decrypts and removes them one at a time, so
    it holds one result at a time, whatever the job's size."""
    back = job_dir()
    key = os.urandom(16)
    where = str(back)

    def sealed(batch: pa.RecordBatch) -> list[str]:
        name = f"result-{uuid.uuid4().hex}"
        plain = pickle.dumps(kernel(batch), protocol=pickle.HIGHEST_PROTOCOL)
        tmp = Path(where, name + ".tmp")
        tmp.write_bytes(sm4_gcm_encrypt(key, plain, _result_aad(name)))
        tmp.replace(Path(where, name))  # a retried task writes files of its own
        return [name]

    def merge(parts: list[list[str]]) -> list[str]:
        return [name for part in parts for name in part]

    def job(staged: _Staged) -> list[list[str]]:
        try:
            return staged.run(sealed, merge)
        finally:
            staged.remove()

    def results(names_per_task: list[list[str]]) -> Iterator[Any]:
        for names in names_per_task:
            for name in names:
                path = back / name
                plain = sm4_gcm_decrypt(key, path.read_bytes(), _result_aad(name))
                path.unlink()
                yield pickle.loads(plain)  # noqa: S301 - our own executors' output, authenticated

    source = iter(batches)
    running: deque[tuple[Future, _Staged]] = deque()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gongshu-spark-job")
    try:
        while True:
            taken = [0]

            def window(taken: list[int] = taken) -> Iterator[pa.RecordBatch]:
                for batch in itertools.islice(source, ORDERED_WINDOW):
                    taken[0] += 1
                    yield batch

            staged = _stage(window(), sys.maxsize)
            if not staged.spans:  # empty batches only, or the end of the source
                staged.remove()
                if taken[0]:
                    continue
                break
            running.append((pool.submit(job, staged), staged))
            if len(running) > 1:
                yield from results(running.popleft()[0].result())
        while running:
            yield from results(running.popleft()[0].result())
    finally:
        for future, staged in running:
            if future.cancel():  # never started: its staging is left to remove
                staged.remove()
        pool.shutdown(wait=True)  # a job already running ends (and removes its staging)
        shutil.rmtree(back, ignore_errors=True)


def _result_aad(name: str) -> bytes:
    return b"gongshu-spark-result:" + name.encode()


def map_parquet(
    path: Path | Remote, columns: list[str] | None, kernel: Kernel, merge: Merge
) -> list[Any]:
    """``kernel`` over each row group of the Parquet file at ``path`` (``columns`` only),
    read by the executors; one merged partial per task, in row-group order.

    ``path`` is a file on storage the executors share, or an object in the object store
    (``storage.objects.Remote``), which each task reads through pyarrow's S3 file
    system with the credentials of its own worker's environment."""
    groups = parquet_file(path).metadata.num_row_groups
    if not groups:
        return []
    tmp = job_dir()

    def task(ids: list[int]) -> list[Any]:
        with parquet_file(path) as f:
            out = []
            for i in ids:
                table = f.read_row_group(i, columns=columns)
                out.extend(kernel(batch) for batch in table.to_batches())
            return merge(out)

    try:
        return _run(groups, task, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parquet_file(path: Path | Remote) -> pq.ParquetFile:
    """A stored Parquet file opened where it lies: mapped from shared storage, or read
    from the object store by ranges."""
    if isinstance(path, Remote):
        return pq.ParquetFile(path.open())
    return pq.ParquetFile(str(path), memory_map=True)
