"""Masking a batch at the door: each per-value operator once per distinct value.

``apply_actions`` (policies.py) masks every cell; here a batch's repeated values
(names, districts, resident IDs drawn from one register) are masked once and
spread back through the dictionary indices, and text columns of few distinct
values stay dictionary-encoded for the watermark, which reuses the encoding.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from gongshu.egress.policies import apply_actions
from gongshu.protect.watermark import reads_per_row

# Operators whose output for a value depends on that value alone: they run once per
# distinct value of a batch. Noise and randomized encryption must stay per cell.
PER_VALUE_OPS = frozenset(
    {
        "partial",
        "replace",
        "nullify",
        "truncate",
        "generalize_date",
        "generalize_address",
        "age_band",
        "coordinate_grid",
        "pseudonymize",
    }
)
DISTINCT_SHARE = 0.5


class Distinct:
    """Per delivery: dictionary-encode columns whose batches repeat values.

    Numbers and times are left alone: the watermark reads them arithmetically.

    A column (masked input or output) whose first batch was mostly distinct
    is not tried again: encoding a million distinct mobiles costs more than
    it saves.
    """

    def __init__(self) -> None:
        self.plain: set[tuple[str, str]] = set()

    def encode(self, key: tuple[str, str], values: pa.Array) -> pa.DictionaryArray | None:
        if key in self.plain or not len(values) or reads_per_row(values.type):
            return None
        encoded = pc.dictionary_encode(values)
        if len(encoded.dictionary) > DISTINCT_SHARE * len(values):
            self.plain.add(key)
            return None
        return encoded


def mask(
    batch: pa.RecordBatch,
    actions: list,
    pseudonym_key: bytes,
    purpose: str,
    distinct: Distinct | None = None,
) -> pa.RecordBatch:
    """Mask a batch by the policy's actions, each per-value operator once per distinct value.

    Text columns of few distinct values come out dictionary-encoded (masked
    dictionary, original indices) so that the watermark reuses the encoding;
    ``embed`` returns them decoded.
    """
    distinct = distinct or Distinct()
    arrays = []
    for action in actions:
        values = batch.column(action.column)
        op = action.rule["op"]
        encoded = distinct.encode(("in", action.column), values)
        if op == "keep":
            arrays.append(values if encoded is None else encoded)
            continue
        if op not in PER_VALUE_OPS:
            encoded = None
        part = values if encoded is None else encoded.dictionary
        masked = apply_actions(
            pa.RecordBatch.from_arrays([part], names=[action.column]),
            [action],
            pseudonym_key=pseudonym_key,
            pseudonym_purpose=purpose,
        ).column(0)
        if encoded is not None:
            masked = pa.DictionaryArray.from_arrays(encoded.indices, masked)
        else:
            masked = distinct.encode(("out", action.column), masked) or masked
        arrays.append(masked)
    return pa.RecordBatch.from_arrays(arrays, names=[a.column for a in actions])


def decoded(batch: pa.RecordBatch) -> pa.RecordBatch:
    columns = [
        c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
