"""Registration forms in the GOV.UK pattern (issue 17 item 6): a refused post comes
back on its own page with status 400, the message beside its field, what was typed
kept, and nothing written."""

from __future__ import annotations

from sqlalchemy import func, select

from gongshu.ledger.models import LedgerEntry
from gongshu.registration.models import Registration


def _count(session, model) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(model))


def test_an_application_comes_back_beside_each_field_with_what_was_typed(
    client, login, session, market
) -> None:
    login("operator")
    before, regs = _count(session, LedgerEntry), _count(session, Registration)
    r = client.post(
        "/registrations",
        data={
            "kind": "product",
            "name": "低保统计月报",
            "description": "按街道汇总",
            "processing_summary": "平台内聚合",
            "source_codes": "NO-SUCH-CODE",
            "rights": ["processing"],
            "price_mode": "self",
            "price_yuan": "12.5",
        },
    )
    assert r.status_code == 400 and 'id="registration-form"' in r.text
    assert 'id="source_codes-error">来源数据中的资源代码不存在：NO-SUCH-CODE' in r.text
    assert 'href="#source_codes"' in r.text and 'value="低保统计月报"' in r.text
    assert 'value="processing" id="rights-processing" checked' in r.text
    r = client.post(
        "/registrations",
        data={
            "kind": "product",
            "name": "低保统计月报",
            "description": "按街道汇总",
            "processing_summary": "平台内聚合",
            "price_mode": "self",
            "price_yuan": "-3",
        },
    )
    assert r.status_code == 400 and 'id="rights-error">请至少选择一项所持权利' in r.text
    assert "按街道汇总</textarea>" in r.text and 'value="-3"' in r.text
    assert _count(session, Registration) == regs and _count(session, LedgerEntry) == before


def test_a_change_and_a_return_without_reason_come_back_beside_the_field(
    client, login, session, market, approved_product
) -> None:
    login("operator")
    before = _count(session, LedgerEntry)
    r = client.post(
        f"/registrations/{approved_product.id}",
        data={"name": "", "description": "改为按日更新", "price_mode": "guided"},
    )
    assert r.status_code == 400 and 'id="change-form"' in r.text
    assert 'id="name-error">请填写名称' in r.text and "改为按日更新</textarea>" in r.text
    session.refresh(approved_product)
    assert approved_product.status == "approved" and _count(session, LedgerEntry) == before
    login("operator")
    r = client.post(
        f"/registrations/{approved_product.id}",
        data={
            "name": approved_product.name,
            "description": "改为按日更新",
            "processing_summary": approved_product.processing_summary,
            "rights": approved_product.rights,
            "price_mode": approved_product.price_mode,
            "fee_item": approved_product.fee_item or "",
            "price_yuan": approved_product.price_yuan or "",
        },
        follow_redirects=True,
    )
    assert r.status_code == 200 and "变更已提交审核" in r.text
    login("reviewer_prov")
    before = _count(session, LedgerEntry)
    r = client.post(f"/registration-review/{approved_product.id}/return", data={"comment": ""})
    assert r.status_code == 400 and 'id="comment-error">退回时必须填写审核意见' in r.text
    assert "来源数据的权属记录" in r.text
    session.refresh(approved_product)
    assert approved_product.status == "submitted" and _count(session, LedgerEntry) == before
