"""The deterministic demo province (江西省): records and data rows for ``gongshu demo``."""

from gongshu.demo.model import (
    DemoEntry,
    DemoField,
    DemoOrg,
    DemoProvince,
    DemoRegion,
    DemoUser,
)
from gongshu.demo.province import DEMO_PASSWORD, build_province, entry_rows, total_rows

__all__ = [
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
