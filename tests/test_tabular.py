"""Reading CSV (UTF-8, BOM, GBK), XLSX and Parquet as string batches."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gongshu.errors import InvalidInput
from gongshu.tabular import detect_encoding, open_table

ROWS = "姓名,编号\n张三,0101\n李四,0202\n"


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk")],
)
def test_csv_encodings_keep_leading_zeros(tmp_path: Path, encoding: str, detected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(ROWS.encode(encoding))
    assert detect_encoding(path) == detected
    stream = open_table(path)
    assert stream.columns == ["姓名", "编号"]
    table = pa.Table.from_batches(list(stream.batches))
    assert table.column("编号").to_pylist() == ["0101", "0202"]
    assert table.column("姓名").to_pylist() == ["张三", "李四"]


def test_xlsx_and_parquet(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "编号"])
    ws.append(["张三", "0101"])
    wb.save(tmp_path / "t.xlsx")
    table = pa.Table.from_batches(list(open_table(tmp_path / "t.xlsx").batches))
    assert table.to_pylist() == [{"姓名": "张三", "编号": "0101"}]

    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "t.parquet")
    stream = open_table(tmp_path / "t.parquet")
    assert stream.format == "parquet" and stream.columns == ["a"]


def test_unsupported_and_missing_files_say_so_in_chinese(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="文件不存在"):
        open_table(tmp_path / "none.csv")
    (tmp_path / "x.doc").write_text("x")
    with pytest.raises(InvalidInput, match="不支持的文件格式"):
        open_table(tmp_path / "x.doc")
