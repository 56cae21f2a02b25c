"""Errors of backup and restore; messages in Chinese with the English key term."""

from __future__ import annotations

from gongshu.errors import Conflict, InvalidInput


class BackupFailed(Conflict):
    """The backup could not be completed; what was written has no manifest."""


class TargetNotEmpty(InvalidInput):
    """A backup or a restore writes only into an empty (or absent) directory."""


class BackupIncomplete(InvalidInput):
    """No manifest, or a file that does not match it: not a complete backup."""


class WrongSecret(InvalidInput):
    """The backup was taken under another instance secret."""


class RestoreFailed(Conflict):
    """The restored instance did not verify (ledger, keys, schema)."""
