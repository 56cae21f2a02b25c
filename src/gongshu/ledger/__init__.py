"""The ledger: a tamper-evident, append-only record of every state change
and data access, with signed RFC 6962 Merkle checkpoints (DESIGN.md mechanism 2).
"""

from __future__ import annotations

from gongshu.capability import Capability
from gongshu.ledger.models import LedgerCheckpoint, LedgerEntry
from gongshu.ledger.service import (
    LedgerCorrupt,
    LedgerPayloadInvalid,
    checkpoint,
    checkpoint_if_due,
    entries,
    export_checkpoints,
    record,
)
from gongshu.ledger.verification import VerifyReport, verify, verify_against

CAPABILITY = Capability(
    name="ledger",
    label="账本",
    models=("gongshu.ledger.models",),
    commands=(("ledger", "gongshu.ledger.commands:ledger_app"),),
    home=("gongshu.ledger.home:panel",),
)

__all__ = [
    "CAPABILITY",
    "LedgerCheckpoint",
    "LedgerCorrupt",
    "LedgerEntry",
    "LedgerPayloadInvalid",
    "VerifyReport",
    "checkpoint",
    "checkpoint_if_due",
    "entries",
    "export_checkpoints",
    "record",
    "verify",
    "verify_against",
]
