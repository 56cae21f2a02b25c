"""Masked examples: a few values shown to people inside the platform (the entry page,
quality reports), masked exactly as the door masks a delivery.

One function, one key: the pseudonyms use the door's derived key (``door_keys``), or
a key the caller draws for examples that must not link across reports; never the
instance secret itself.
"""

from __future__ import annotations

import pyarrow as pa

from gongshu.egress.marking import door_keys
from gongshu.egress.policies import apply_actions, plan


def example_key(secret: str) -> bytes:
    """The door's derived pseudonym key (HKDF-SM3 of the instance secret)."""
    return door_keys(secret).pseudonyms


def mask_examples(
    batch: pa.RecordBatch, tags: dict, rules: dict, *, key: bytes, purpose: str
) -> pa.RecordBatch:
    """``batch`` masked by ``rules`` (a masking policy's) for the columns' ``tags``."""
    actions = plan(batch.schema.names, tags, rules)
    return apply_actions(batch, actions, pseudonym_key=key, pseudonym_purpose=purpose)
