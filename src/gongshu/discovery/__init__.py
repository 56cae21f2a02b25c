"""Discovery: find, classify and grade personal and sensitive data in tables
(issue 3; SEC-1, SEC-2, SEC-3, CAT-7, AGG-5, PIP-1). See README.md."""

from __future__ import annotations

from gongshu.capability import Capability
from gongshu.discovery.classifier import ColumnResult, TableResult, classify_table
from gongshu.discovery.grading import Rules, default_rules
from gongshu.discovery.scanner import scan_paths

CAPABILITY = Capability(
    name="discovery",
    label="敏感数据识别",
    routers=("gongshu.discovery.routes:router", "gongshu.discovery.routes:pages"),
    models=("gongshu.discovery.models",),
    templates=True,
    commands=(("scan", "gongshu.discovery.commands:scan"),),
)

__all__ = [
    "CAPABILITY",
    "ColumnResult",
    "Rules",
    "TableResult",
    "classify_table",
    "default_rules",
    "scan_paths",
]
