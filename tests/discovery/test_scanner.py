"""scan_paths: the spec JSON (spec/scan-output.md) on the dev set and on every format."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from gongshu.discovery import scan_paths
from gongshu.discovery.grading import default_rules
from gongshu.errors import InvalidInput

from .conftest import TODAY, Gen

DEV = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "discovery-dev"
LABELS = json.loads((DEV / "labels.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dev_report() -> dict:
    return scan_paths([DEV / f for f in LABELS], today=TODAY)


def test_dev_report_has_exactly_the_spec_shape(dev_report: dict) -> None:
    assert set(dev_report) == {"scanned_at", "tables"}
    assert dev_report["scanned_at"] == "2026-11-22"
    for table, name in zip(dev_report["tables"], LABELS, strict=True):
        assert set(table) == {"source", "encoding", "rows", "minors_under_14", "columns"}
        assert table["source"] == str(DEV / name)
        assert table["rows"] == 2000
        assert [c["name"] for c in table["columns"]] == list(LABELS[name]["columns"])
        for col in table["columns"]:
            assert set(col) == {"name", "entities", "sensitive", "evidence"}
            assert set(col["evidence"]) == set(col["entities"])
            for ev in col["evidence"].values():
                assert 0 < ev["matched"] <= ev["checked"] <= table["rows"]
    json.dumps(dev_report, ensure_ascii=False)


def test_dev_encodings_are_detected(dev_report: dict) -> None:
    enc = {Path(t["source"]).name: t["encoding"] for t in dev_report["tables"]}
    assert enc["enterprises.csv"] in ("gbk", "gb18030")
    assert enc["payroll.csv"] == "utf-8-sig"
    assert enc["residents.csv"] == "utf-8"


def test_dev_f1_and_sensitive_flag_on_every_column(dev_report: dict) -> None:
    tp = fp = fn = 0
    rules = default_rules()
    for table in dev_report["tables"]:
        truth = LABELS[Path(table["source"]).name]
        assert table["minors_under_14"] is truth["minors_under_14"]
        for col in table["columns"]:
            want, got = set(truth["columns"][col["name"]]), set(col["entities"])
            tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
            assert col["sensitive"] is any(rules.is_sensitive(e) for e in want), col["name"]
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= 0.97


def test_sampled_scan_counts_every_row_and_agrees(dev_report: dict) -> None:
    sampled = scan_paths([DEV / f for f in LABELS], today=TODAY, sample_rows=500)
    for full, part in zip(dev_report["tables"], sampled["tables"], strict=True):
        assert part["rows"] == full["rows"] == 2000
        assert [c["entities"] for c in part["columns"]] == [c["entities"] for c in full["columns"]]
        assert all(v["checked"] <= 500 for c in part["columns"] for v in c["evidence"].values())


def people(gen: Gen, n: int = 300) -> pa.Table:
    return pa.table(
        {
            "姓名": [gen.name() for _ in range(n)],
            "身份证号": [gen.resident_id() for _ in range(n)],
            "手机": [gen.mobile() for _ in range(n)],
            "住址": [f"江西省南昌市东湖区八一大道{i}号" for i in range(n)],
            "金额": [f"{gen.r.uniform(0, 999):.2f}" for _ in range(n)],
        }
    )


EXPECTED = {
    "姓名": ["PERSON_NAME"],
    "身份证号": ["CN_RESIDENT_ID"],
    "手机": ["CN_MOBILE"],
    "住址": ["ADDRESS"],
    "金额": [],
}


def write(table: pa.Table, path: Path, kind: str) -> Path:
    if kind == "parquet":
        pq.write_table(table, path)
    elif kind == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(table.column_names)
        for row in zip(*(table[c].to_pylist() for c in table.column_names), strict=True):
            ws.append(list(row))
        wb.save(path)
    else:
        buf = pa.BufferOutputStream()
        pacsv.write_csv(table, buf)
        text = buf.getvalue().to_pybytes().decode("utf-8")
        enc = {"csv-utf8": "utf-8", "csv-bom": "utf-8-sig", "csv-gbk": "gbk"}[kind]
        path.write_bytes(text.encode(enc))
    return path


@pytest.mark.parametrize(
    ("kind", "suffix", "encoding"),
    [
        ("csv-utf8", "csv", "utf-8"),
        ("csv-bom", "csv", "utf-8-sig"),
        ("csv-gbk", "csv", "gbk"),
        ("xlsx", "xlsx", None),
        ("parquet", "parquet", None),
    ],
)
def test_every_format_gives_the_same_answer(
    gen: Gen, tmp_path: Path, kind: str, suffix: str, encoding: str | None
) -> None:
    path = write(people(gen), tmp_path / f"people.{suffix}", kind)
    (table,) = scan_paths([path], today=TODAY)["tables"]
    assert table["encoding"] == encoding
    assert table["rows"] == 300
    assert {c["name"]: c["entities"] for c in table["columns"]} == EXPECTED


def test_typed_parquet_columns_are_classified(gen: Gen, tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    pq.write_table(
        pa.table(
            {
                "mobile": pa.array([int(gen.mobile()) for _ in range(200)], pa.int64()),
                "lng": [round(gen.r.uniform(110, 120), 6) for _ in range(200)],
                "lat": [round(gen.r.uniform(25, 35), 6) for _ in range(200)],
                "count": pa.array(range(200), pa.int32()),
            }
        ),
        path,
    )
    (table,) = scan_paths([path], today=TODAY)["tables"]
    assert [c["entities"] for c in table["columns"]] == [
        ["CN_MOBILE"],
        ["GEO_COORDINATE"],
        ["GEO_COORDINATE"],
        [],
    ]


def test_unreadable_file_is_reported_in_place(gen: Gen, tmp_path: Path) -> None:
    good = write(people(gen), tmp_path / "ok.csv", "csv-utf8")
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet at all")
    report = scan_paths([bad, tmp_path / "missing.csv", good], today=TODAY)
    first, second, third = report["tables"]
    assert set(first) == {"source", "error"} and "Parquet" in first["error"]
    assert "文件不存在" in second["error"]
    assert third["columns"]


def test_header_only_file_lists_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("姓名,电话\n", encoding="utf-8")
    (table,) = scan_paths([path], today=TODAY)["tables"]
    assert table["rows"] == 0
    assert [(c["name"], c["entities"]) for c in table["columns"]] == [("姓名", []), ("电话", [])]


def test_grading_is_opt_in(gen: Gen, tmp_path: Path) -> None:
    path = write(people(gen), tmp_path / "p.csv", "csv-utf8")
    (table,) = scan_paths([path], today=TODAY, grading=True)["tables"]
    assert table["grading"] == {
        "grade": "general-4",
        "important_data_candidate": False,
        "reasons": [],
    }
    assert table["columns"][1]["masking"] == "mask_id_number"


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(InvalidInput, match="不支持的扫描引擎"):
        scan_paths([], engine="flink")


def test_multi_batch_file_full_and_sampled(gen: Gen, tmp_path: Path) -> None:
    """A column empty in the head of a file is still scanned with every detector,
    and the sample is spread over the whole file, not its head."""
    n, late = 100_000, 30_000
    mobiles = pa.array([None] * (n - late) + [gen.mobile() for _ in range(late)], pa.string())
    ids = pa.array([gen.resident_id() for _ in range(1000)] * (n // 1000))
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": ids, "late": mobiles}), path)
    seen: list[tuple[str, int]] = []
    full = scan_paths([path], today=TODAY, progress=lambda s, b: seen.append((s, b)))
    sampled = scan_paths([path], today=TODAY, sample_rows=2000)
    for report in (full, sampled):
        (table,) = report["tables"]
        assert table["rows"] == n
        assert [c["entities"] for c in table["columns"]] == [["CN_RESIDENT_ID"], ["CN_MOBILE"]]
    assert full["tables"][0]["columns"][1]["evidence"]["CN_MOBILE"]["checked"] == late
    assert len(seen) >= 2 and seen[-1][0] == str(path)
    assert [b for _, b in seen] == sorted(b for _, b in seen)
