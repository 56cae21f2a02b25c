"""The JSON writer of the door keeps the values' text as it always wrote them."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa

from gongshu.egress import formats


def test_json_pages_write_values_as_text_a_client_can_read() -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "名称": ["东湖区", None],
            "金额": pa.array([Decimal("149.8600000000"), Decimal("-0.5")], pa.decimal128(38, 10)),
            "日期": [date(2026, 12, 4), None],
            "时间": [datetime(2026, 12, 4, 9, 30, 5), datetime(2026, 1, 1)],
            "数量": [3, 2**62],
            "比例": [0.25, float("nan")],
        }
    )
    sink = io.BytesIO()
    with formats.WRITERS["json"](sink, batch.schema) as writer:
        writer.write(batch)
        writer.write(batch.slice(0, 1))
    page = json.loads(sink.getvalue())
    assert page["columns"] == ["名称", "金额", "日期", "时间", "数量", "比例"]
    assert page["rows"] == [
        # decimals, dates and times as str() gives them; NaN is not JSON: null
        ["东湖区", "149.8600000000", "2026-12-04", "2026-12-04 09:30:05", 3, 0.25],
        [None, "-0.5000000000", None, "2026-01-01 00:00:00", 2**62, None],
        ["东湖区", "149.8600000000", "2026-12-04", "2026-12-04 09:30:05", 3, 0.25],
    ]
    assert "东湖区".encode() in sink.getvalue()  # UTF-8, not \\u escapes
