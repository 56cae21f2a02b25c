"""AGG-2: entries of two agencies holding the same data items about the same people
are flagged with evidence; the authority names the legal collector (ledger)."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.ledger.models import LedgerEntry
from gongshu.quality import onesource
from gongshu.quality.errors import NotAuthority
from tests.quality.conftest import FIELDS, good_rows, write_csv

TODAY = dt.date.today()


def _publish(session, people, code, fields, clerk, reviewer):  # noqa: ANN001, ANN201
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": code,
            "summary": code,
            "fields": fields,
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=clerk,
    )
    catalog.submit(session, entry.id, actor=clerk)
    catalog.approve(session, entry.id, actor=reviewer)
    return entry


def test_same_items_over_the_same_people_are_flagged_then_decided(
    session, people, subsidy, datasets_dir, tmp_path
) -> None:  # noqa: ANN001
    rows = good_rows(20, TODAY)
    datasets.load(
        session,
        subsidy.id,
        write_csv(tmp_path / "a.csv", rows),
        actor=people.clerk_county,
        datasets_dir=datasets_dir,
    )
    copy = _publish(
        session, people, "360000-GA-0301", FIELDS, people.clerk_prov, people.reviewer_prov
    )
    datasets.load(
        session,
        copy.id,
        write_csv(tmp_path / "b.csv", rows[:10]),
        actor=people.clerk_prov,
        datasets_dir=datasets_dir,
    )
    other_fields = [
        FIELDS[0],
        FIELDS[1],
        {"name": "备注", "type": "string"},
        {"name": "金额", "type": "decimal"},
    ]
    other = _publish(
        session, people, "360000-GA-0302", other_fields, people.clerk_prov, people.reviewer_prov
    )
    path = tmp_path / "c.csv"
    path.write_text(
        "姓名,公民身份号码,备注,金额\n" + "\n".join(f"{r[0]},{r[1]},x,1" for r in rows) + "\n",
        encoding="utf-8",
    )
    datasets.load(session, other.id, path, actor=people.clerk_prov, datasets_dir=datasets_dir)

    (dup,) = onesource.find_duplicates(session, people.reviewer_prov, datasets_dir=datasets_dir)
    assert {dup.a.id, dup.b.id} == {subsidy.id, copy.id}
    assert dup.subjects_shared == 10 and dup.overlap == 1.0 and "性别" in dup.shared_items
    with pytest.raises(NotAuthority):
        onesource.find_duplicates(session, people.clerk_prov, datasets_dir=datasets_dir)
    onesource.designate(
        session,
        [subsidy.id, copy.id],
        copy.id,
        actor=people.reviewer_prov,
        reason="户籍信息由公安机关采集",
        evidence=dup.evidence(),
    )
    assert onesource.find_duplicates(session, people.reviewer_prov, datasets_dir=datasets_dir) == []
    entry = session.query(LedgerEntry).filter_by(action="quality.one_source_designated").one()
    assert entry.payload["legal_org"] == "江西省公安厅"


def test_a_tag_found_later_on_one_side_is_not_a_different_item() -> None:
    """The full scan may widen one version's tags first; only disagreeing tags differ."""
    from gongshu.quality.onesource import _same_item

    assert _same_item(("string", ("ADDRESS",)), ("string", ()))
    assert _same_item(("string", ("ADDRESS",)), ("string", ("ADDRESS", "PERSON_NAME")))
    assert not _same_item(("string", ("ADDRESS",)), ("string", ("MEDICAL",)))
    assert not _same_item(("string", ()), ("date", ()))


def test_a_designation_without_its_reason_comes_back_beside_the_pair(
    client, login, session, people, subsidy, datasets_dir, tmp_path
) -> None:  # noqa: ANN001
    rows = good_rows(20, TODAY)
    a = write_csv(tmp_path / "a.csv", rows)
    datasets.load(session, subsidy.id, a, actor=people.clerk_county, datasets_dir=datasets_dir)
    copy = _publish(
        session, people, "360000-GA-0301", FIELDS, people.clerk_prov, people.reviewer_prov
    )
    b = write_csv(tmp_path / "b.csv", rows[:10])
    datasets.load(session, copy.id, b, actor=people.clerk_prov, datasets_dir=datasets_dir)
    (dup,) = onesource.find_duplicates(session, people.reviewer_prov, datasets_dir=datasets_dir)
    login("reviewer_prov")
    written = session.query(LedgerEntry).count()
    pair = f"{dup.a.id}-{dup.b.id}"
    r = client.post(
        "/quality/duplicates/designate",
        data={"entries": f"{dup.a.id},{dup.b.id}", "legal_entry_id": str(dup.b.id), "reason": ""},
    )
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert f'id="reason-{pair}-error">请填写认定理由' in r.text
    assert f'href="#reason-{pair}"' in r.text
    assert f'aria-describedby="reason-{pair}-error"' in r.text
    assert f'<option value="{dup.b.id}" selected>' in r.text
    assert onesource.decisions(session) == []
    assert session.query(LedgerEntry).count() == written
