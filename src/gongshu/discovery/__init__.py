"""Discovery: find, classify and grade personal and sensitive data in tables
(issue 3; SEC-1, SEC-2, SEC-3, CAT-7, AGG-5, PIP-1). See README.md."""

from gongshu.discovery.classifier import ColumnResult, TableResult, classify_table
from gongshu.discovery.grading import Rules, default_rules
from gongshu.discovery.scanner import scan_paths

__all__ = ["ColumnResult", "Rules", "TableResult", "classify_table", "default_rules", "scan_paths"]
