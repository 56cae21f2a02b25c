"""Row builders, one per demo catalog entry: ``build(ctx) -> {column name: array}``.

Columns that belong together are drawn together (a person's ID, sex and birth
date agree; a licence holder's name and USCC belong to the same enterprise).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from gongshu.demo import org_rows, people_rows
from gongshu.demo.synth import Ctx

Columns = dict[str, pa.Array]
ENTRY_KEYS = (
    "hjrk",
    "qydj",
    "sbcb",
    "dlys",
    "bdcdj",
    "xxml",
    "shzz",
    "mzjz",
    "yljg",
    "gjxl",
    "kqzl",
    "gtgsh",
    "jydj",
    "ymjz",
    "jzz",
    "xsxj",
    "spjy",
    "ghxk",
    "gljt",
    "rkjc",
)
BUILDERS: dict[str, Callable[[Ctx], Columns]] = {
    key: getattr(people_rows, key, None) or getattr(org_rows, key) for key in ENTRY_KEYS
}
