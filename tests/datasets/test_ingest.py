"""Streaming load of agency files into dataset versions (AGG-1, AGG-3)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gongshu.datasets.convert import TYPE_REASONS
from gongshu.datasets.ingest import (
    FieldSpec,
    LoadRejected,
    MissingColumns,
    ingest_file,
    sweep_temp_files,
    write_parquet_table,
)
from gongshu.errors import InvalidInput
from gongshu.identifiers import id_check_char
from gongshu.storage import scratch
from gongshu.storage.atomic import TEMP_PREFIX

TODAY = date(2026, 1, 1)
PEOPLE = [
    FieldSpec("身份证号", "string", kind="resident_id", required=True),
    FieldSpec("姓名", "string", required=True),
    FieldSpec("年龄", "integer"),
]


def rid(birth: str = "19800101", seq: str = "123", region: str = "110105") -> str:
    first17 = region + birth + seq
    return first17 + id_check_char(first17)


def broken(value: str) -> str:
    """The same ID with a wrong check digit."""
    return value[:17] + ("1" if value[17] != "1" else "2")


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(TEMP_PREFIX))


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    text = "\n".join(",".join(r) for r in rows) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_loads_typed_values(tmp_path: Path, encoding: str) -> None:
    src = write_csv(
        tmp_path / "people.csv",
        [["身份证号", "姓名", "年龄"], [rid(), "张三", "45"], [rid(seq="124"), "李四", ""]],
        encoding,
    )
    result = ingest_file(src, PEOPLE, tmp_path / "v1.parquet", today=TODAY)
    table = pq.read_table(result.path)
    assert table.to_pylist() == [
        {"身份证号": rid(), "姓名": "张三", "年龄": 45},
        {"身份证号": rid(seq="124"), "姓名": "李四", "年龄": None},
    ]
    assert table.schema.field("年龄").type == pa.int64()
    assert result.rows == 2 and result.report.rows_loaded == 2
    assert result.report.encoding == encoding.replace("gb18030", "gbk")  # GBK is a subset
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert result.bytes == result.path.stat().st_size
    assert result.schema == [
        {"name": "身份证号", "type": "string"},
        {"name": "姓名", "type": "string"},
        {"name": "年龄", "type": "integer"},
    ]
    assert leftovers(tmp_path) == []


def test_gbk_bad_ids_at_rows_3_and_7_are_rejected_with_exact_rows(tmp_path: Path) -> None:
    rows = [["身份证号", "姓名", "年龄"]]
    for i in range(2, 12):
        value = rid(seq=f"{i:03d}")
        rows.append([broken(value) if i in (3, 7) else value, f"居民{i}", str(20 + i)])
    src = write_csv(tmp_path / "gbk.csv", rows, "gbk")
    dest = tmp_path / "v1.parquet"
    with pytest.raises(LoadRejected) as err:
        ingest_file(src, PEOPLE, dest, today=TODAY, block_size=96)
    assert err.value.message == ("第 3 行「身份证号」列：身份证号校验位错误，共 2 处错误")
    report = err.value.report
    assert [(b.row, b.column) for b in report.bad_values] == [(3, "身份证号"), (7, "身份证号")]
    assert report.bad_values[1].value == rows[6][0]
    assert (report.rows_total, report.rows_loaded, report.rows_rejected) == (10, 0, 2)
    assert err.value.status == 400
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gbk.csv"]  # nothing left behind


def test_row_numbers_stay_exact_across_many_batches_and_multiline_records(
    tmp_path: Path,
) -> None:
    rows = [["身份证号", "姓名", "年龄"]]
    bad_rows = {5, 77, 78, 199, 350}
    for row in range(2, 402):
        name = '"多行\n备注"' if row == 40 else f"居民{row}"  # one record, two lines
        age = "abc" if row == 350 else str(row % 90)
        value = rid(seq=f"{row % 1000:03d}")
        rows.append([broken(value) if row in bad_rows - {350} else value, name, age])
    src = write_csv(tmp_path / "many.csv", rows)
    dest = tmp_path / "v1.parquet"
    seen: list[int] = []
    result = ingest_file(
        src, PEOPLE, dest, policy="quarantine", today=TODAY, block_size=256, progress=seen.append
    )
    assert len(seen) > 20 and seen == sorted(seen) and seen[-1] == 400
    assert [b.row for b in result.report.bad_values] == sorted(bad_rows)
    assert result.report.bad_values[-1].column == "年龄"
    assert result.report.bad_values[-1].reason == "不是有效整数"
    quarantine = pq.read_table(dest.with_suffix(".quarantine.parquet"))
    assert quarantine.column("_row").to_pylist() == sorted(bad_rows)
    assert quarantine.column("年龄").to_pylist()[-1] == "abc"
    loaded = pq.read_table(dest)
    assert loaded.num_rows == 395 == result.rows
    assert "多行\n备注" in loaded.column("姓名").to_pylist()


def test_quarantine_keeps_good_rows_and_sets_bad_rows_aside(tmp_path: Path) -> None:
    src = write_csv(
        tmp_path / "p.csv",
        [
            ["身份证号", "姓名", "年龄"],
            [rid(), "张三", "45"],
            [broken(rid(seq="222")), "李四", "x"],
            ["", "王五", "30"],
        ],
    )
    dest = tmp_path / "v2.parquet"
    result = ingest_file(src, PEOPLE, dest, policy="quarantine", today=TODAY)
    assert pq.read_table(dest).column("姓名").to_pylist() == ["张三"]
    report = result.report
    assert (report.rows_loaded, report.rows_rejected, report.bad_values_total) == (1, 2, 3)
    assert report.quarantine_file == "v2.quarantine.parquet"
    assert "隔离 2 行（3 处错误）" in report.summary()
    q = pq.read_table(tmp_path / "v2.quarantine.parquet").to_pylist()
    assert [r["_row"] for r in q] == [3, 4]
    assert q[0]["_reasons"] == ("身份证号：身份证号无效；年龄：不是有效整数")
    assert q[1]["_reasons"] == "身份证号：必填项为空"
    assert q[0]["年龄"] == "x"  # the raw text, so the clerk can correct it
    json.dumps(report.to_dict(), ensure_ascii=False)  # stored on the dataset version
    assert leftovers(tmp_path) == []


def test_clean_quarantine_load_writes_no_quarantine_file(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "p.csv", [["身份证号", "姓名"], [rid(), "张三"]])
    dest = tmp_path / "v.parquet"
    result = ingest_file(src, PEOPLE, dest, policy="quarantine", today=TODAY)
    assert result.report.quarantine_file is None
    assert not dest.with_suffix(".quarantine.parquet").exists()
    assert result.report.missing_columns == ["年龄"]
    assert pq.read_table(dest).column("年龄").to_pylist() == [None]


def test_old_15_digit_ids_and_lowercase_x_are_accepted_and_normalized(tmp_path: Path) -> None:
    x_id = "11010519491231002X"
    src = write_csv(
        tmp_path / "p.csv",
        [
            ["身份证号", "姓名"],
            ["110105491231002", "老证"],
            [x_id.lower(), "小写"],
            [f" {x_id} ", "空格"],
        ],
    )
    result = ingest_file(src, PEOPLE, tmp_path / "v.parquet", today=TODAY)
    ids = pq.read_table(result.path).column("身份证号").to_pylist()
    assert ids == ["110105491231002", x_id, x_id]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("11010519491231002", "身份证号应为 18 位或 15 位，实为 17 位"),
        (rid(region="999999"), "身份证号地址码不存在"),
        (rid(birth="20300101"), "身份证号出生日期无效"),
        (rid(birth="19800230"), "身份证号出生日期无效"),
        ("11010519800101123A", "身份证号含非法字符"),
    ],
)
def test_bad_resident_ids_say_why(tmp_path: Path, value: str, reason: str) -> None:
    src = write_csv(tmp_path / "p.csv", [["身份证号", "姓名"], [value, "某人"]])
    with pytest.raises(LoadRejected) as err:
        ingest_file(src, PEOPLE, tmp_path / "v.parquet", today=TODAY)
    assert err.value.report.bad_values[0].reason == reason


def test_uscc_and_region_code_columns(tmp_path: Path) -> None:
    fields = [
        FieldSpec("统一社会信用代码", "string", kind="uscc", required=True),
        FieldSpec("区划", "string", kind="region_code"),
    ]
    src = write_csv(
        tmp_path / "org.csv",
        [
            ["统一社会信用代码", "区划"],
            ["91350100m000100y43", "350102"],
            ["91350100M000100Y44", "350103"],
            ["91350100M000100Y4", "999999"],
        ],
    )
    result = ingest_file(src, fields, tmp_path / "v.parquet", policy="quarantine", today=TODAY)
    assert pq.read_table(result.path).to_pylist() == [
        {"统一社会信用代码": "91350100M000100Y43", "区划": "350102"}
    ]
    reasons = [(b.row, b.reason) for b in result.report.bad_values]
    assert reasons == [
        (3, "统一社会信用代码校验位错误"),
        (4, "统一社会信用代码应为 18 位，实为 17 位"),
        (4, "行政区划代码不存在"),
    ]


TYPE_CASES = [
    ("integer", ["42", "-7", "+3", " 8 "], [42, -7, 3, 8], ["4.5", "1e3", "１２"]),
    (
        "decimal",
        ["1.50", "-0.125", "100"],
        [Decimal("1.5"), Decimal("-0.125"), Decimal(100)],
        ["1,000", "abc", "1.12345678901"],
    ),
    (
        "date",
        ["2024-01-31", "2024/1/31", "20240131", "2024-02-29 00:00:00"],
        [date(2024, 1, 31)] * 3 + [date(2024, 2, 29)],
        ["2023-02-29", "2024-13-01", "31/01/2024", "2024-01-31 08:00"],
    ),
    (
        "datetime",
        ["2024-01-31 08:05", "2024/1/31T08:05:09.5", "20240131080509", "2024-01-31"],
        [
            datetime(2024, 1, 31, 8, 5),
            datetime(2024, 1, 31, 8, 5, 9, 500000),
            datetime(2024, 1, 31, 8, 5, 9),
            datetime(2024, 1, 31),
        ],
        ["2024-01-31 24:00", "2024-01-31 08:60", "昨天"],
    ),
    (
        "boolean",
        ["是", "否", "TRUE", "0"],
        [True, False, True, False],
        ["maybe", "2"],
    ),
]


@pytest.mark.parametrize(("type_", "good", "expected", "bad"), TYPE_CASES)
def test_type_conversion_and_type_errors(
    tmp_path: Path, type_: str, good: list[str], expected: list, bad: list[str]
) -> None:
    values = good + bad
    src = write_csv(tmp_path / "t.csv", [["值"]] + [[f'"{v}"'] for v in values])
    dest = tmp_path / "v.parquet"
    fields = [FieldSpec("值", type_)]
    result = ingest_file(src, fields, dest, policy="quarantine", today=TODAY)
    assert pq.read_table(dest).column("值").to_pylist() == expected
    assert [b.value for b in result.report.bad_values] == bad
    assert [b.row for b in result.report.bad_values] == list(range(len(good) + 2, len(values) + 2))
    assert all(b.reason == TYPE_REASONS[type_] for b in result.report.bad_values)


def test_missing_required_column_is_named_and_extra_columns_are_dropped(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "p.csv", [["\ufeff 姓名 ", "备注"], ["张三", "x"]])
    with pytest.raises(MissingColumns) as err:
        ingest_file(src, PEOPLE, tmp_path / "v.parquet")
    assert isinstance(err.value, InvalidInput)
    assert err.value.message.startswith("文件缺少必填列：身份证号；")
    assert "文件中的列为：姓名、备注" in err.value.message

    fields = [FieldSpec("姓名", "string", required=True)]
    result = ingest_file(src, fields, tmp_path / "v.parquet")
    assert result.report.extra_columns == ["备注"]
    assert pq.read_table(result.path).column_names == ["姓名"]
    assert "已忽略多余列：备注" in result.report.summary()


def test_xlsx_input_with_native_dates_and_numbers(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "年龄", "登记日期"])
    ws.append([rid(), "张三", 45, datetime(2024, 1, 31)])
    ws.append([broken(rid(seq="999")), "李四", 30.0, "2024/2/1"])
    wb.save(tmp_path / "p.xlsx")
    fields = PEOPLE + [FieldSpec("登记日期", "date")]
    dest = tmp_path / "v.parquet"
    result = ingest_file(tmp_path / "p.xlsx", fields, dest, policy="quarantine", today=TODAY)
    assert result.report.format == "xlsx"
    assert pq.read_table(dest).to_pylist() == [
        {"身份证号": rid(), "姓名": "张三", "年龄": 45, "登记日期": date(2024, 1, 31)}
    ]
    assert [b.row for b in result.report.bad_values] == [3]


def test_blank_spreadsheet_rows_are_skipped_but_keep_row_numbers(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "年龄"])
    ws.append([rid(), "张三", 45])
    ws.append([])  # row 3 left empty by the clerk
    ws.append([broken(rid(seq="444")), "李四", 30])
    ws.cell(row=9, column=1).number_format = "@"  # formatted but empty rows at the end
    wb.save(tmp_path / "p.xlsx")
    dest = tmp_path / "v.parquet"
    result = ingest_file(tmp_path / "p.xlsx", PEOPLE, dest, policy="quarantine", today=TODAY)
    report = result.report
    assert [(b.row, b.column) for b in report.bad_values] == [(4, "身份证号")]
    assert (report.rows_total, report.rows_loaded, report.rows_rejected) == (2, 1, 1)
    assert report.rows_blank >= 1 and "跳过空行" in report.summary()


def test_parquet_input_keeps_typed_columns_and_validates_ids(tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(
        pa.table(
            {
                "身份证号": [rid(), "123"],
                "姓名": ["张三", "李四"],
                "年龄": pa.array([45, 30], pa.int32()),
                "日期": pa.array([date(2024, 1, 31), None], pa.date32()),
                "时间": pa.array([datetime(2024, 1, 31, 8, 5), None], pa.timestamp("ns")),
                "金额": pa.array([12, 3], pa.int64()),
            }
        ),
        src,
    )
    fields = PEOPLE + [
        FieldSpec("日期", "date"),
        FieldSpec("时间", "datetime"),
        FieldSpec("金额", "decimal"),
    ]
    result = ingest_file(src, fields, tmp_path / "v.parquet", policy="quarantine", today=TODAY)
    assert pq.read_table(result.path).to_pylist() == [
        {
            "身份证号": rid(),
            "姓名": "张三",
            "年龄": 45,
            "日期": date(2024, 1, 31),
            "时间": datetime(2024, 1, 31, 8, 5),
            "金额": Decimal(12),
        }
    ]
    assert result.report.format == "parquet" and result.report.encoding is None
    assert result.report.bad_values[0].row == 3


def test_bad_value_list_is_capped_but_counted(tmp_path: Path) -> None:
    rows = [["姓名", "年龄"]] + [["某人", "x"] for _ in range(50)]
    src = write_csv(tmp_path / "p.csv", rows)
    with pytest.raises(LoadRejected) as err:
        ingest_file(
            src,
            [FieldSpec("姓名", "string"), FieldSpec("年龄", "integer")],
            tmp_path / "v.parquet",
            max_reported=5,
            block_size=64,
        )
    report = err.value.report
    assert [b.row for b in report.bad_values] == [2, 3, 4, 5, 6]
    assert report.bad_values_total == 50
    assert "共 50 处错误" in err.value.message
    assert leftovers(tmp_path) == []


def test_malformed_csv_half_way_fails_cleanly(tmp_path: Path) -> None:
    lines = ["姓名,年龄"] + [f"居民{i},{i}" for i in range(200)] + ["多,出,一列"]
    src = tmp_path / "p.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fields = [FieldSpec("姓名", "string"), FieldSpec("年龄", "integer")]
    with pytest.raises(InvalidInput, match="CSV 文件格式错误"):
        ingest_file(src, fields, tmp_path / "v.parquet", block_size=256)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]


def test_bad_specs_and_policies_are_refused_in_chinese(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "p.csv", [["a"], ["1"]])
    with pytest.raises(InvalidInput, match="不支持的入库策略"):
        ingest_file(src, [FieldSpec("a", "string")], tmp_path / "v.parquet", policy="drop")
    with pytest.raises(InvalidInput, match="类型不受支持"):
        ingest_file(src, [FieldSpec("a", "float")], tmp_path / "v.parquet")


def test_write_parquet_table_is_atomic_and_hashes_the_file(tmp_path: Path) -> None:
    dest = tmp_path / "demo" / "d.parquet"
    rows, size, sha = write_parquet_table(pa.table({"a": [1, 2, 3]}), dest)
    assert (rows, size) == (3, dest.stat().st_size)
    assert sha == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert pq.read_table(dest).column("a").to_pylist() == [1, 2, 3]
    assert leftovers(dest.parent) == []


def test_sweep_removes_leftovers_whatever_their_age_but_not_a_live_writer(tmp_path: Path) -> None:
    # Issue 20 item 3 made the one-hour rule moot: temporary files belong to a live
    # process's locked scratch directory, so a sweep needs no age to tell what is dead.
    (tmp_path / "sub").mkdir()
    old = tmp_path / "sub" / f"{TEMP_PREFIX}v1.parquet.1.ab"
    new = tmp_path / f"{TEMP_PREFIX}v2.parquet.2.cd"  # written a moment ago, by a dead release
    keep = tmp_path / "v0.parquet"
    for p in (old, new, keep):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    live = scratch.new_path(tmp_path, "v3.parquet")  # this process's, still being written
    live.write_bytes(b"x")
    assert sweep_temp_files(tmp_path) == 2
    assert not old.exists() and not new.exists() and keep.exists() and live.exists()
    assert keep.exists() and sweep_temp_files(tmp_path / "absent") == 0


def scratch_files(area: Path) -> list[Path]:
    """Files in the scratch area's owner directories (their locks aside)."""
    return [p for p in area.rglob("*") if p.is_file() and p.suffix != ".lock"]


CHILD = """
import sys, time
from pathlib import Path
from gongshu.datasets.ingest import FieldSpec, ingest_file

def progress(rows):
    Path(sys.argv[3]).write_text(str(rows))
    time.sleep(60)  # parked mid-load, temp file open, until killed

ingest_file(Path(sys.argv[1]), [FieldSpec("n", "integer"), FieldSpec("s", "string")],
            Path(sys.argv[2]), progress=progress, block_size=4096)
"""


def test_load_killed_mid_write_leaves_no_dest_and_sweep_cleans_up(tmp_path: Path) -> None:
    src = tmp_path / "big.csv"
    src.write_text("n,s\n" + "".join(f"{i},值{i}\n" for i in range(20000)), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    dest, marker = out / "v1.parquet", tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(src), str(dest), str(marker)])
    try:
        deadline = time.monotonic() + 15
        while not marker.exists() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert marker.exists(), "child never reached the first batch"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    assert 0 < int(marker.read_text()) < 20000  # killed part-way through the file
    assert not dest.exists()
    # The half-written file is in the dead process's scratch directory, beside `out`,
    # not in `out` itself; the sweep removes it although it is seconds old.
    assert leftovers(out) == [] and len(scratch_files(scratch.area(out))) == 1
    assert sweep_temp_files(out) == 1
    assert list(out.iterdir()) == [] and scratch_files(scratch.area(out)) == []


def test_gbk_file_whose_first_megabytes_are_ascii_is_still_read_as_gbk(tmp_path: Path) -> None:
    ascii_rows = "".join(f"{rid(seq='555')},Resident {i},{i % 90}\n" for i in range(130_000))
    text = b"ID,name,age\n" + ascii_rows.encode()
    src = tmp_path / "late.csv"
    src.write_bytes(text + f"{rid()},张三,45\n".encode("gbk"))
    assert len(text) > 4 << 20  # beyond the head that used to be the only sample
    fields = [FieldSpec("ID", "string", kind="resident_id"), FieldSpec("name", "string")]
    result = ingest_file(src, fields, tmp_path / "v.parquet", today=TODAY)
    assert result.report.encoding == "gbk"
    assert pq.read_table(result.path).column("name").to_pylist()[-1] == "张三"


def test_a_large_source_goes_to_the_cluster_only_when_spark_is_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The selection alone (tests/spark/test_load.py compares the results on a real
    cluster): here the cluster's function is stood in for by the same work in process."""
    from gongshu.datasets import cluster, ingest

    rows = [["身份证号", "姓名", "年龄"]] + [
        [rid(seq=f"{i:03d}"), f"居民{i}", str(20 + i)] for i in range(2, 40)
    ]
    src = write_csv(tmp_path / "in.csv", rows, "gbk")
    calls = []

    def stand_in(batches, convert):  # noqa: ANN001, ANN202
        calls.append(convert)
        return ingest._numbered(batches, convert)

    monkeypatch.setattr(cluster, "converted", stand_in)
    monkeypatch.setattr(ingest, "CLUSTER_BYTES", src.stat().st_size)

    def load(name: str) -> str:
        return ingest_file(src, PEOPLE, tmp_path / name, today=TODAY, rows_per_batch=8).sha256

    monkeypatch.delenv("GONGSHU_ENGINE", raising=False)
    here = load("here.parquet")
    assert not calls
    monkeypatch.setenv("GONGSHU_ENGINE", "spark")
    assert load("there.parquet") == here and len(calls) == 1
    monkeypatch.setattr(ingest, "CLUSTER_BYTES", src.stat().st_size + 1)  # a smaller file
    load("small.parquet")
    assert len(calls) == 1
