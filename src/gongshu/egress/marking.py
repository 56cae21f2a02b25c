"""The door's marks and keys: the pseudonym and watermark keys derived once a process
from the instance secret, the recipient's watermark, and the worker-thread pipeline
masking and marking run on."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import pyarrow as pa

from gongshu.egress import masking
from gongshu.protect.crypto import derive_key
from gongshu.protect.watermark import Mark, embed


def pipelined(fn, batches, *, ahead: int = 4):  # noqa: ANN001, ANN202
    """Apply ``fn`` to batches on worker threads, in order, at most ``ahead`` in flight.

    Arrow compute and the ciphers release the GIL, so masking and watermarking use
    every core while memory stays bounded by the window, whatever the table size.
    """
    import os
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(ahead, os.cpu_count() or 1))) as pool:
        window: deque = deque()
        for batch in batches:
            window.append(pool.submit(fn, batch))
            if len(window) >= ahead:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


class DoorKeys(NamedTuple):
    pseudonyms: bytes
    watermark: bytes


@functools.lru_cache(maxsize=4)
def door_keys(secret: str) -> DoorKeys:
    """The door's keys from the instance secret, derived once a process: pseudonyms
    (the operation sandbox uses the same) and the watermark (tracing uses the same)."""
    instance_key = secret.encode()
    return DoorKeys(
        derive_key(instance_key, "gongshu/egress/pseudonyms"),
        derive_key(instance_key, "gongshu/egress/watermark"),
    )


def unmarked_columns(fields: list[dict]) -> list[str]:
    """A catalog entry's columns whose values must stay exact (identifiers checked at
    load, integer counts, dates): the door never marks them, tracing reads them as
    anchors only."""
    return [f["name"] for f in fields if f.get("kind") or f.get("type") in ("integer", "date")]


def watermarker(  # noqa: ANN202
    wm_key: bytes,
    recipient: str,
    token: str,
    entry_id: int,
    *,
    protected: list[str],
    masked: Sequence[str] = (),
    reorder: bool = False,
):
    """The recipient's fingerprint (issue 4 item 5), keyed by the instance secret.

    ``masked`` columns carry bits in their mask runs; with ``reorder`` (no sort
    asked for) the order of the rows within blocks of 8 carries bits too."""
    mark = Mark(recipient=recipient, delivery_id=token, entry_id=entry_id)

    def apply(batch: pa.RecordBatch) -> pa.RecordBatch:
        if not batch.num_rows:
            return masking.decoded(batch)
        # the door tried dictionary-encoding every other column: the rest are mostly distinct
        plain = [f.name for f in batch.schema if not pa.types.is_dictionary(f.type)]
        table = embed(
            pa.Table.from_batches([batch]),
            mark,
            wm_key,
            protected=protected,
            per_row=plain,
            masked=masked,
            reorder=reorder,
        )
        return table.combine_chunks().to_batches()[0]

    return apply


class Protection:
    """What the door does to one batch of raw rows, as a value that can travel: the gates'
    withholdings (before masking: they read raw values), the policy's masking, ``_id``
    passed through, then the recipient's marks. A batch's result depends on that batch
    alone, so batches can be protected on worker threads or on Spark executors
    (``egress.cluster``) and come out the same.

    ``__call__`` returns the protected batch and the rows each withholding kept back."""

    def __init__(  # noqa: PLR0913 - the door's decisions, all of them
        self,
        *,
        withheld: list,
        actions: list,
        pseudonym_key: bytes,
        purpose: str,
        row_ids: bool,
        row_id: str,
        watermark,  # noqa: ANN001 - watermarker's function
    ) -> None:
        self.withheld, self.actions = withheld, actions
        self.pseudonym_key, self.purpose = pseudonym_key, purpose
        self.row_ids, self.row_id, self.watermark = row_ids, row_id, watermark
        self.distinct = masking.Distinct()

    def __call__(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, list[int]]:
        held = []
        for w in self.withheld:
            kept = batch.filter(pa.array(w.keep(batch), type=pa.bool_()))
            held.append(batch.num_rows - kept.num_rows)
            batch = kept
        masked = masking.mask(batch, self.actions, self.pseudonym_key, self.purpose, self.distinct)
        if self.row_ids:  # the position is not data: it passes unmasked, never marked
            masked = pa.RecordBatch.from_arrays(
                [batch.column(0), *masked.columns], names=[self.row_id, *masked.schema.names]
            )
        if self.watermark is None:  # unmarked (the public preview): decoded, as a mark leaves it
            return masking.decoded(masked), held
        return self.watermark(masked), held
