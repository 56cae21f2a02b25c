"""A large load's conversion on the cluster is the in-process one (issue 19 item 2): a
GBK CSV of a few thousand residents (ID numbers, mobiles, addresses, amounts, dates;
bad values and blank rows among them) converted on the executors gives the same rows
file, byte for byte, the same report, the same rejected rows and the same sample."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from gongshu.datasets.ingest import FieldSpec, LoadRejected, ingest_file
from gongshu.identifiers import id_check_char
from gongshu.spark import tasks

ROWS = 3000
FIELDS = [
    FieldSpec("姓名", "string", required=True),
    FieldSpec("公民身份号码", "string", "resident_id", required=True),
    FieldSpec("联系电话", "string"),
    FieldSpec("住址", "string"),
    FieldSpec("区划代码", "string", "region_code"),
    FieldSpec("补助金额", "decimal"),
    FieldSpec("登记日期", "date"),
]


def _rid(k: int) -> str:
    body = f"360102{1950 + k % 50}{1 + k % 12:02d}{1 + k % 28:02d}{k % 1000:03d}"
    return body + id_check_char(body)


def _source(path: Path) -> Path:
    lines = ["姓名,公民身份号码,联系电话,住址,区划代码,补助金额,登记日期,备注"]
    for k in range(ROWS):
        rid = _rid(k)
        if k % 97 == 5:
            rid = rid[:-1] + ("0" if rid[-1] != "0" else "1")  # a wrong check digit
        amount = "一百" if k % 211 == 7 else f"{100 + k % 900}.{k % 100:02d}"
        day = "2024-02-30" if k % 401 == 9 else f"2024-{1 + k % 12:02d}-{1 + k % 28:02d}"
        if k % 173 == 3:
            lines.append(",,,,,,,")  # spreadsheet padding: skipped, keeps its row number
            continue
        lines.append(
            f"居民{k},{rid},1{38 + k % 3}{k:08d},江西省南昌市东湖区阳明路{k % 300 + 1}号,"
            f"360102,{amount},{day},第{k}行"
        )
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    return path


def _load(src: Path, scratch: Path, policy: str, on_cluster: bool) -> dict:
    try:
        result = ingest_file(
            src,
            FIELDS,
            None,
            ephemeral=scratch,
            policy=policy,
            rows_per_batch=256,  # a dozen batches over both workers, the last one short
            sample_rows=500,
            on_cluster=on_cluster,
        )
    except LoadRejected as exc:
        return {"rejected": asdict(exc.report)}
    try:
        return {
            "report": asdict(result.report),
            "rows": result.rows,
            "sha256": result.sha256,
            "output": result.output.read_bytes() if result.output else None,
            "quarantine": result.quarantine.read_bytes() if result.quarantine else None,
            "sample": result.sample,
        }
    finally:
        result.discard()


@pytest.mark.parametrize("policy", ["quarantine", "reject"])
def test_a_gbk_load_converted_on_the_cluster_is_the_same(
    on_cluster,  # noqa: ANN001
    tmp_path: Path,
    policy: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tasks, "ORDERED_WINDOW", 5)  # twelve batches in three jobs
    src = _source(tmp_path / "residents.csv")
    here = _load(src, tmp_path / "here", policy, False)
    there = _load(src, tmp_path / "there", policy, True)
    assert there.keys() == here.keys()
    if policy == "reject":
        report = there["rejected"]
        assert report == here["rejected"]
        assert report["rows_rejected"] > 40 and report["rows_loaded"] == 0
        return
    sample = there.pop("sample")
    assert sample.equals(here.pop("sample")) and sample.num_rows == 500
    assert there == here
    report = there["report"]
    assert report["encoding"] in ("gbk", "gb18030") and report["rows_blank"] > 10
    assert report["rows_rejected"] > 40 and report["rows_loaded"] == there["rows"]
    assert report["rows_total"] == report["rows_loaded"] + report["rows_rejected"]
    assert there["quarantine"] and there["output"]
    # the first bad values in row order, whichever executor found them
    rows = [b["row"] for b in report["bad_values"]]
    assert rows == sorted(rows) and rows[0] == 7
