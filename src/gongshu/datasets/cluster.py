"""A large load's conversion step on the Spark executors (issue 19 item 2).

The driver reads the agency's file as in process (``tabular.open_table``: the CSV's
encoding, GBK or UTF-8, detected and decoded there, XLSX and Parquet read there) and
stages its batches unchanged, each with its rows' numbers, sealed under a key drawn
for the job (``spark.tasks.map_ordered``). Each task converts and checks its batches
(``ingest._BatchConverter``: typed columns, resident IDs, USCCs and region codes
checked, blank rows, the first bad values with their row numbers, the rejected rows)
and sends each result back sealed under a second job key; the driver takes them in
order and does what in process it does with its threads' results: writes the kept
rows to the encrypted scratch file, the rejected rows to the quarantine, keeps the
sample and the report. A batch's result depends on that batch and its first row
alone, so the load is the in-process one: the same rows file, the same report
(tests/spark/test_load.py). Classification of the sample and sealing the sensitive
columns into the stored version stay on the driver, which alone holds the key store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from gongshu.spark import tasks

FIRST_ROW = "gongshu:row"  # the staged batches' last column: each row's number


def converted(
    batches: Iterable[pa.RecordBatch],
    convert: Any,  # noqa: ANN401 - ingest._BatchConverter
) -> Iterator[Any]:
    """``convert(batch, first row)`` for each source batch, on the executors, in order.
    The batches are staged as they are, so the kept rows reach the writer in the
    in-process batches (the file's row groups follow them)."""

    def kernel(batch: pa.RecordBatch) -> Any:  # noqa: ANN401
        first = batch.column(batch.num_columns - 1)[0].as_py() if batch.num_rows else 0
        source = pa.RecordBatch.from_arrays(
            batch.columns[:-1], schema=pa.schema(list(batch.schema)[:-1])
        )
        return convert(source, first)

    return tasks.map_ordered(_numbered(batches), kernel)


def _numbered(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    first = 2  # the header is row 1
    for batch in batches:
        numbers = pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))
        yield pa.RecordBatch.from_arrays(
            [*batch.columns, numbers], schema=batch.schema.append(pa.field(FIRST_ROW, pa.int64()))
        )
        first += batch.num_rows
