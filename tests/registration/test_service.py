"""Registration (REG-1..REG-4): apply, review, code and certificate, versions, gaps."""

from __future__ import annotations

import pytest

from gongshu.documents import pdf_text
from gongshu.errors import InvalidInput
from gongshu.ledger import entries
from gongshu.registration import codes
from gongshu.registration import service as registration
from gongshu.registration.certificate import certificate_pdf
from gongshu.registration.errors import NotRegistrationReviewer, RegistrationNotFound
from gongshu.registration.gaps import gaps

from .conftest import product_data  # noqa: TID252


def test_approval_issues_a_valid_code_and_a_certificate_naming_it(session, people, market) -> None:
    reg = registration.apply(session, product_data(market), actor=market.operator)
    assert reg.status == "submitted" and reg.code is None
    with pytest.raises(NotRegistrationReviewer):
        registration.approve(session, reg.id, actor=market.operator)
    registration.approve(session, reg.id, actor=people.reviewer_prov, comment="材料齐全")
    assert reg.status == "approved" and codes.is_valid(reg.code)
    assert reg.code.startswith("GS-360000-") and "-P00001-" in reg.code
    text = pdf_text(certificate_pdf(reg))
    assert reg.code in text
    assert "数据产品登记证书" in text and "江西省公共数据运营有限公司" in text
    assert "数据产品经营权" in text and "江西省数据局" in text
    assert registration.lookup(session, reg.code.lower()).id == reg.id


def test_a_code_with_a_wrong_check_character_is_told_apart_from_an_unknown_one(
    session, approved_product
) -> None:
    code = approved_product.code
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InvalidInput, match="校验位"):
        registration.lookup(session, wrong)
    body = code[:-7] + "99999"
    with pytest.raises(RegistrationNotFound):
        registration.lookup(session, f"{body}-{codes.check_char(body)}")


def test_a_processor_acting_for_another_holds_no_rights(session, market) -> None:
    # REG-4: a processor acting on another's behalf holds none of the three rights.
    with pytest.raises(InvalidInput, match="受托代为加工处理数据的，不享有持有权"):
        registration.apply(
            session, product_data(market, acting_for="南昌市民政局"), actor=market.operator
        )
    reg = registration.apply(
        session, product_data(market, acting_for="南昌市民政局", rights=[]), actor=market.operator
    )
    assert reg.rights == [] and reg.acting_for == "南昌市民政局"
    with pytest.raises(InvalidInput, match="所持权利"):
        registration.apply(session, product_data(market, rights=[]), actor=market.operator)


def test_every_change_is_a_new_version_with_its_diff_and_goes_back_to_review(
    session, people, market, approved_product
) -> None:
    reg = approved_product
    code = reg.code
    registration.update(
        session,
        reg.id,
        {"description": "新增区县维度", "price_unit": "季度"},
        actor=market.operator,
    )
    assert reg.status == "submitted" and reg.code == code
    latest = registration.versions(session, reg.id)[0]
    assert latest.version_no == 3 and latest.action == "changed"
    changed = {c["field"]: (c["old"], c["new"]) for c in latest.changes}
    assert changed["description"][1] == "新增区县维度"
    assert changed["status"] == ("approved", "submitted")
    # The public page still shows the approved version until the change is approved.
    assert registration.lookup(session, code).approved_snapshot["description"] != "新增区县维度"
    registration.approve(session, reg.id, actor=people.reviewer_prov)
    assert reg.code == code and reg.approved_snapshot["description"] == "新增区县维度"
    ledger = sorted(
        (e for e in entries(session) if e.subject == f"registration:{reg.id}"), key=lambda e: e.id
    )
    assert [e.action for e in ledger] == [
        "registration.submitted",
        "registration.approved",
        "registration.changed",
        "registration.approved",
    ]
    assert ledger[2].payload["changes"]


def test_returned_registrations_need_a_comment(session, people, market) -> None:
    reg = registration.apply(session, product_data(market), actor=market.operator)
    with pytest.raises(InvalidInput, match="审核意见"):
        registration.return_(session, reg.id, actor=people.reviewer_prov, comment=" ")
    registration.return_(session, reg.id, actor=people.reviewer_prov, comment="请补充加工说明")
    assert reg.status == "returned" and reg.code is None


def test_gaps_show_operated_data_and_derived_products_not_registered(
    session, people, market
) -> None:
    # REG-1: both entries are under operation grants to the operator; nothing registered.
    found = gaps(session)
    assert {(g.kind, g.entry.id) for g in found} == {
        ("operated_data", market.raw.id),
        ("operated_data", market.stats.id),
    }
    reg = registration.apply(
        session, product_data(market, source_entry_ids=[]), actor=market.operator
    )
    # the sources are taken from the sandbox run the product came from (OPR-4)
    assert reg.source_entry_ids == [market.stats.id]
    kinds = {(g.kind, g.entry.id) for g in gaps(session)}
    assert ("derived_product", market.stats.id) in kinds
    registration.approve(session, reg.id, actor=people.reviewer_prov)
    # The product lists the stats entry as its source: covered. The raw entry is not.
    assert [(g.kind, g.entry.id) for g in gaps(session)] == [("operated_data", market.raw.id)]


def test_self_set_price_must_be_an_amount(session, market) -> None:
    with pytest.raises(InvalidInput, match="自主定价须填写价格"):
        registration.apply(
            session,
            product_data(market, price_mode="self", price_yuan="abc"),
            actor=market.operator,
        )
    reg = registration.apply(
        session, product_data(market, price_mode="self", price_yuan="88"), actor=market.operator
    )
    assert reg.price_yuan == "88.00"


def test_the_reviewer_sees_sources_the_registrant_has_no_record_for(session, market) -> None:
    from gongshu.registration.gaps import source_standing

    reg = registration.apply(
        session, product_data(market, price_mode="self", price_yuan="10"), actor=market.buyer
    )
    standing = source_standing(session, reg)
    assert [s["entry"].id for s in standing] == [market.raw.id, market.stats.id, market.product.id]
    assert not any(s["ok"] for s in standing)
    assert standing[0]["standing"] == "平台上没有本单位持有或获授权运营的记录"


def test_only_a_sandbox_product_is_registered_as_a_products_data(session, market) -> None:
    from gongshu.registration.provenance import NotSandboxProduct

    # an entry's raw version (OPR-4, TRD-3)
    with pytest.raises(NotSandboxProduct, match="低保保障统计.*原始数据不得登记"):
        registration.apply(
            session, product_data(market, data_entry_id=market.stats.id), actor=market.operator
        )
    # the sources must include what the run read
    with pytest.raises(NotSandboxProduct, match="缺少：低保保障统计（360102-MZ-0502）"):
        registration.apply(
            session, product_data(market, source_entry_ids=[market.raw.id]), actor=market.operator
        )
    # a resource registration may still describe raw data it holds
    reg = registration.apply(
        session,
        product_data(market, kind="resource", data_entry_id=market.stats.id),
        actor=market.operator,
    )
    assert reg.kind == "resource"
