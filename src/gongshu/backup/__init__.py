"""Backup and restore of a whole instance (issue 20 item 4; SEC-3).

``snapshot.take`` writes an online, consistent backup; ``restore.restore`` rebuilds
an instance from one at any path and verifies it; ``archive`` is the format.
"""

from __future__ import annotations

from gongshu.capability import Capability

CAPABILITY = Capability(
    name="backup",
    label="备份与恢复",
    commands=(
        ("backup", "gongshu.backup.commands:backup"),
        ("restore", "gongshu.backup.commands:restore"),
    ),
)

__all__ = ["CAPABILITY"]
