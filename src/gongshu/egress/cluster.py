"""A large delivery's per-batch work on the Spark executors (issue 19 item 2).

The door decides everything on the driver, as in process: the grant and its gates,
the version, the policy's plan, the rows a gate withholds (its ``keep`` function),
the recipient's mark, the file and its record in the ledger (``service.deliver``).
What costs per row runs on the executors: each batch the door's query gives is
withheld, masked and marked there (``marking.Protection``, the same object the
in-process worker threads call), and the driver writes the results in the
original order. A batch's result depends on that batch alone (masking is per value,
a row's marks depend on the row and its block of 8), and the batches are the
query's own, unchanged (``tasks.map_ordered`` stages them as they are), so the
file is byte for byte the in-process one: the same CSV, JSON, Parquet row groups.

What travels, and how:

- The rows go out through ``tasks.map_ordered`` (staged as ``map_staged`` does, a
  window of batches a Spark job): the driver's query decrypts the
  sealed columns a frame at a time (``storage.streamed``, on the driver, which alone
  holds the key store) and each batch is staged sealed with SM4-GCM under a key drawn
  for the job.
- The protected batches come back the same way (``tasks.map_ordered``): each task
  writes its result (the batch and the rows each gate withheld) sealed under a second
  key drawn for this job (the file's name authenticated, so results cannot be
  swapped), one file per batch. The driver reads them one at a time, in order, and
  removes each: its memory holds one batch, as in process.
- The tasks receive, in memory with the serialized task (never on disk): the two job
  keys, the door's pseudonym and watermark keys (derived from the instance secret:
  what masking and marking need, nothing else), the policy's plan and the gates'
  ``keep`` functions (the cross-border gate's: the consent hashes and their keyed
  hash key). Not the key store, not the instance secret, not a data key. On a
  cluster across machines the RPC between driver and executors should be encrypted
  (``spark.network.crypto.enabled``, docs/deployment.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa

from gongshu.egress.marking import Protection
from gongshu.spark import tasks


def protected(
    batches: Iterable[pa.RecordBatch],
    protection: Protection,
    withheld_rows: list[int],
) -> Iterator[pa.RecordBatch]:
    """``protection`` over ``batches`` on the executors, the results in the batches'
    order; the rows each gate withheld are added to ``withheld_rows``. The batches
    are staged as they are, so the writer sees the in-process batches (Parquet's row
    groups follow them)."""
    for out, held in tasks.map_ordered(batches, protection):
        for k, n in enumerate(held):
            withheld_rows[k] += n
        yield out
