"""The deterministic demo province (江西省): records and data rows for ``gongshu demo``."""

from __future__ import annotations

from gongshu.capability import Capability
from gongshu.demo.model import (
    DemoEntry,
    DemoField,
    DemoOrg,
    DemoProvince,
    DemoRegion,
    DemoUser,
)
from gongshu.demo.province import DEMO_PASSWORD, build_province, entry_rows, total_rows

CAPABILITY = Capability(name="demo", label="演示省份")

__all__ = [
    "CAPABILITY",
    "DEMO_PASSWORD",
    "DemoEntry",
    "DemoField",
    "DemoOrg",
    "DemoProvince",
    "DemoRegion",
    "DemoUser",
    "build_province",
    "entry_rows",
    "total_rows",
]
