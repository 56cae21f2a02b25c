"""The masked preview, the field list, the licence and the API call on an open entry's
page (issue 17 item 3): rows through the egress door, recorded once per kept preview."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from sqlalchemy import select

from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.egress.models import Delivery
from gongshu.identifiers import id_check_char
from gongshu.ledger import entries
from gongshu.opendata import preview
from gongshu.opendata.licence import AGREEMENT_LICENCE, OPEN_LICENCE

NAMES = ["张三丰", "李小龙", "王五", "赵敏", "钱多多", "孙悟空", "周芷若", "吴用", "郑和", "冯唐"]


def _id(i: int) -> str:
    first = f"640104{1970 + i}0{1 + i % 9}1{i % 10}{i:03d}"
    return first + id_check_char(first)


PEOPLE = [(NAMES[i % 10], _id(i), f"1391234{i:04d}", "兴庆区", f"5{i:02d}.50") for i in range(12)]


def _people_entry(session, people, tmp_path: Path, opening: str):  # noqa: ANN001, ANN202
    entry = catalog.create(
        session,
        {
            "resource_code": "640104-MZ-0001" if opening == "unconditional" else "640104-MZ-0002",
            "name": f"低保对象名册（{opening}）",
            "summary": "低保对象姓名、身份证号与联系电话",
            "fields": [
                {"name": "姓名", "type": "string", "description": "户主姓名"},
                {"name": "身份证号", "type": "string", "kind": "resident_id"},
                {"name": "联系电话", "type": "string"},
                {"name": "区", "type": "string"},
                {"name": "补助金额", "type": "decimal"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "unconditional",
            "opening_attr": opening,
            "opening_conditions": "仅用于社会救助研究" if opening == "conditional" else None,
            "formats": ["csv"],
            "themes": ["民政"],
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    csv = tmp_path / f"{entry.resource_code}.csv"
    csv.write_text(
        "姓名,身份证号,联系电话,区,补助金额\n" + "".join(",".join(r) + "\n" for r in PEOPLE),
        encoding="utf-8",
    )
    datasets.load(
        session,
        entry.id,
        csv,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    session.flush()
    return entry


@pytest.fixture(autouse=True)
def _fresh_previews():  # noqa: ANN202
    preview.clear()
    yield
    preview.clear()


def _previews(session, entry_id: int) -> list[Delivery]:  # noqa: ANN001
    return list(
        session.scalars(
            select(Delivery).where(Delivery.entry_id == entry_id, Delivery.recipient == "public")
        )
    )


def test_preview_rows_are_masked_never_the_stored_values(client, session, people, tmp_path) -> None:  # noqa: ANN001
    entry = _people_entry(session, people, tmp_path, "unconditional")
    r = client.get(f"/open/{entry.id}")
    assert r.status_code == 200
    page = html.unescape(r.text)
    table = page.split('id="preview-rows"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + preview.ROWS  # the heading and the first ten rows
    for name, number, mobile, _, _ in PEOPLE:
        assert number not in page and mobile not in page and name not in page
    assert "兴庆区" in table  # what the open policy leaves in the clear is shown as stored
    assert "139****" in table or "1391234" not in table  # mobiles partially masked
    first_id = PEOPLE[0][1]
    assert first_id[:3] in table and "*" in table
    assert "身份证号（已脱敏）" in table and "区（已脱敏）" not in table
    # decimals as people write them, not as stored (500.5000000000)
    assert ">500.5</td>" in table and "500.50000" not in table


def test_the_preview_is_one_recorded_delivery_to_the_public(
    client, session, people, tmp_path
) -> None:  # noqa: ANN001
    entry = _people_entry(session, people, tmp_path, "unconditional")
    assert client.get(f"/open/{entry.id}").status_code == 200
    [delivery] = _previews(session, entry.id)
    assert delivery.grant_id is None and delivery.actor == "system:portal"
    assert delivery.rows == preview.ROWS and delivery.policy_name == "open"
    assert not delivery.watermarked
    [logged] = [
        e
        for e in entries(session, action_prefix="egress.delivered", limit=20)
        if e.payload.get("delivery") == delivery.token
    ]
    assert logged.payload["recipient"] == "public" and logged.payload["grant"] is None
    assert set(logged.payload["masked"]) >= {"姓名", "身份证号", "联系电话"}
    # more views of the kept preview record nothing more
    for _ in range(3):
        assert client.get(f"/open/{entry.id}").status_code == 200
    assert len(_previews(session, entry.id)) == 1
    # kept no longer (period over, or another process): read and recorded again
    preview.clear()
    client.get(f"/open/{entry.id}")
    assert len(_previews(session, entry.id)) == 2


def test_conditional_entry_shows_fields_and_agreement_but_no_rows(
    client, session, people, tmp_path
) -> None:  # noqa: ANN001
    entry = _people_entry(session, people, tmp_path, "conditional")
    r = client.get(f"/open/{entry.id}")
    assert r.status_code == 200
    page = html.unescape(r.text)
    assert 'id="preview-rows"' not in page and "兴庆区" not in page
    assert "有条件开放的数据不提供预览" in page and "提交开放申请" in page
    assert AGREEMENT_LICENCE.title in page and "第二十七条" in page
    assert (
        "身份证号" in page and "<strong>是</strong>（部分遮盖）" in page
    )  # fields with their masking
    assert _previews(session, entry.id) == []


def test_field_types_licence_facts_and_a_working_api_call(client, open_data) -> None:  # noqa: ANN001
    r = client.get(f"/open/{open_data.free.id}")
    page = html.unescape(r.text)
    fields = page.split('id="field-list"')[1].split("</table>")[0]
    assert ">整数<" in fields and ">文本<" in fields
    for english in ("integer", "string", "keep", "partial"):
        assert english not in fields
    assert OPEN_LICENCE.title in page and "注明数据来源" in page
    assert "每日" in page.split('id="frequency"')[1][:20]
    assert "第 1 版" in page and "CSV、XLSX" in page
    # the metadata call shown answers as shown
    call = page.split("curl '")[1].split("'")[0]
    assert call.startswith("http://")
    answer = client.get(call[call.index("/api/") :]).json()
    assert answer["success"] and answer["result"]["title"] == open_data.free.name
    assert answer["result"]["license_title"] == OPEN_LICENCE.title  # the same licence
    # the data call names the entry's real resource
    data_call = page.split("datastore_search?resource_id=")[1].split("&")[0]
    assert data_call == f"gs-resource-{open_data.free.id}"


def test_a_refusing_gate_leaves_the_page_without_rows(
    client, session, people, tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    from gongshu.egress import gates
    from gongshu.egress.gates import GateUnavailable

    class Closed:
        name = "测试关口"

        def check_grant(self, request) -> None: ...  # noqa: ANN001

        def check_delivery(self, request) -> None:  # noqa: ANN001
            raise GateUnavailable("关口不可用")

    entry = _people_entry(session, people, tmp_path, "unconditional")
    monkeypatch.setattr(gates, "_gates", lambda: [Closed()])
    r = client.get(f"/open/{entry.id}")
    assert r.status_code == 200 and "该数据暂不提供预览" in r.text
    assert 'id="preview-rows"' not in r.text and "兴庆区" not in r.text
    assert _previews(session, entry.id) == []
