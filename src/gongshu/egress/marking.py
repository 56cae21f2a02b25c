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
