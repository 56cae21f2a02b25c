"""Loading into an approved entry: versions, counts, reports, policies (AGG-1, AGG-3)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gongshu import storage
from gongshu.catalog import service as catalog
from gongshu.datasets import service
from gongshu.datasets.errors import EntryNotLoadable, NotDataProvider
from gongshu.datasets.ingest import LoadRejected
from gongshu.identifiers import id_check_char
from gongshu.ledger import entries

TODAY = date(2026, 11, 22)


def rid(body17: str) -> str:
    return body17 + id_check_char(body17)


GOOD = [rid("36010219800101001"), rid("36010219900202002"), rid("36010220010303003")]


def bad_id(good: str) -> str:
    return good[:17] + ("0" if good[17] != "0" else "1")


def approved_entry(session, people, *, policy: str = "quarantine"):  # noqa: ANN001, ANN201
    entry = catalog.create(
        session,
        {
            "resource_code": f"360102-MZ-{policy}",
            "name": "低保对象名单",
            "summary": "低保对象",
            "fields": [
                {"name": "姓名", "type": "string"},
                {"name": "公民身份号码", "type": "string", "kind": "resident_id", "required": True},
                {"name": "认定日期", "type": "date"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-3级",
            "sharing_attr": "conditional",
            "sharing_conditions": "资格核查",
            "opening_attr": "none",
            "load_policy": policy,
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    return entry


def gbk_csv(path: Path, ids: list[str]) -> Path:
    lines = ["姓名,公民身份号码,认定日期"] + [
        f"张{i},{v},2024/1/{i + 1}" for i, v in enumerate(ids)
    ]
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    return path


def test_quarantine_load_keeps_good_rows_and_names_bad_ones(session, people, tmp_path) -> None:
    entry = approved_entry(session, people)
    ids = [GOOD[0], bad_id(GOOD[1]), GOOD[2], GOOD[0], bad_id(GOOD[2])]
    src = gbk_csv(tmp_path / "低保.csv", ids)
    version = service.load(
        session, entry.id, src, actor=people.clerk_county, datasets_dir=tmp_path / "ds", today=TODAY
    )
    assert (version.version_no, version.rows, version.rows_rejected) == (1, 3, 2)
    assert version.encoding == "gbk"
    # Spreadsheet rows: the header is row 1, so the 2nd and 5th records are rows 3 and 6.
    assert [(b["row"], b["column"]) for b in version.report["bad_values"]] == [
        (3, "公民身份号码"),
        (6, "公民身份号码"),
    ]
    stored = pq.read_table(tmp_path / "ds" / version.path)
    assert stored.num_rows == 3 and str(stored.schema.field("认定日期").type) == "date32[day]"
    assert storage.versions_of(session, entry.id) == [version]
    (e,) = entries(session, action_prefix="dataset.", limit=5)
    assert e.payload["rows"] == 3 and e.subject == f"entry:{entry.id}"
    second = service.load(
        session, entry.id, src, actor=people.clerk_county, datasets_dir=tmp_path / "ds", today=TODAY
    )
    assert second.version_no == 2 and second.path != version.path


def test_reject_policy_writes_nothing(session, people, tmp_path) -> None:
    entry = approved_entry(session, people, policy="reject")
    src = gbk_csv(tmp_path / "x.csv", [GOOD[0], bad_id(GOOD[1])])
    with pytest.raises(LoadRejected, match="第 3 行") as info:
        service.load(
            session,
            entry.id,
            src,
            actor=people.clerk_county,
            datasets_dir=tmp_path / "ds",
            today=TODAY,
        )
    assert info.value.report.bad_values_total == 1
    assert storage.versions_of(session, entry.id) == []
    assert list((tmp_path / "ds").rglob("*.parquet")) == []


def test_only_the_provider_loads_and_only_into_approved_entries(session, people, tmp_path) -> None:
    entry = approved_entry(session, people)
    src = gbk_csv(tmp_path / "x.csv", GOOD)
    with pytest.raises(NotDataProvider):
        service.load(session, entry.id, src, actor=people.clerk_prov, datasets_dir=tmp_path)
    draft = catalog.create(
        session, {"resource_code": "D-1", "name": "草稿"}, actor=people.clerk_county
    )
    with pytest.raises(EntryNotLoadable, match="尚未审核通过"):
        service.load(session, draft.id, src, actor=people.clerk_county, datasets_dir=tmp_path)


def test_preview_is_the_providers_own_view(session, people, tmp_path) -> None:
    entry = approved_entry(session, people)
    version = service.load(
        session,
        entry.id,
        gbk_csv(tmp_path / "x.csv", GOOD),
        actor=people.clerk_county,
        datasets_dir=tmp_path / "ds",
        today=TODAY,
    )
    cols, rows = service.preview(
        session, version.id, actor=people.clerk_county, datasets_dir=tmp_path / "ds", limit=2
    )
    assert cols == ["姓名", "公民身份号码", "认定日期"] and len(rows) == 2
    assert rows[0][1] == GOOD[0]
    # Anyone else reads contents only through a sharing grant (the egress door).
    with pytest.raises(NotDataProvider):
        service.preview(
            session, version.id, actor=people.reviewer_county, datasets_dir=tmp_path / "ds"
        )


def test_sweep_removes_orphans_but_keeps_versions(session, people, tmp_path) -> None:
    entry = approved_entry(session, people)
    ds = tmp_path / "ds"
    version = service.load(
        session,
        entry.id,
        gbk_csv(tmp_path / "x.csv", GOOD),
        actor=people.clerk_county,
        datasets_dir=ds,
        today=TODAY,
    )
    orphan = ds / f"entry-{entry.id}" / "v9-dead.parquet"
    orphan.write_bytes(b"PAR1")
    temp = ds / f"entry-{entry.id}" / ".tmp-half-written"
    temp.write_bytes(b"x")
    assert storage.sweep_orphans(session, ds) == 2  # at once: no age rule (issue 20)
    assert not orphan.exists() and not temp.exists()
    assert (ds / version.path).exists()
