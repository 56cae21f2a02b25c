"""Instruments: who may issue each kind, scope, expiry, revocation, typed text refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from gongshu.instruments import service
from gongshu.instruments.errors import BadInstrument, InstrumentRequired, NotEntitled
from gongshu.ledger import entries as ledger_entries
from gongshu.protect.crypto import sm3
from gongshu.timeutil import utcnow


def test_the_rights_holder_issues_an_authorization_with_its_document_hash(
    session, people, entry, instrument, tmp_path
):  # noqa: ANN001
    item = instrument(
        people.clerk_county, "holder_authorization", entry_id=entry.id, purpose="operation"
    )
    assert item.issuer_org_id == people.org["civil"].id
    assert item.issued_by == people.clerk_county.actor
    stored = (tmp_path / "var" / item.document_path).read_bytes()
    assert item.document_sm3 == sm3(stored).hex()
    assert [e.action for e in ledger_entries(session, subject=f"instrument:{item.id}")] == [
        "instrument.issued"
    ]
    found = service.require(session, "holder_authorization", entry_id=entry.id, purpose="operation")
    assert found.id == item.id


@pytest.mark.parametrize(
    ("kind", "who", "message"),
    [
        ("holder_authorization", "clerk_prov", "只能由目录「户籍登记」的提供单位"),
        ("holder_authorization", "reviewer_county", "只能由目录「户籍登记」的提供单位"),
        ("xbr_contract", "clerk_prov", "提供单位"),
        ("xbr_certification", "reviewer_county", "提供单位"),
        ("xbr_assessment", "clerk_county", "数据管理部门或监管部门出具"),
        ("authority_consent_important", "clerk_county", "数据管理部门出具"),
        ("welfare_approval", "clerk_county", "数据管理部门出具"),
    ],
)
def test_a_wrong_party_cannot_issue(session, people, entry, instrument, kind, who, message):  # noqa: ANN001
    extra = {"recipient_org_id": people.org["police"].id} if kind.startswith("xbr") else {}
    purpose = "welfare" if kind == "welfare_approval" else "sharing"
    with pytest.raises(NotEntitled, match=message):
        instrument(getattr(people, who), kind, entry_id=entry.id, purpose=purpose, **extra)


def test_authority_consent_follows_jurisdiction(session, people, instrument, new_entry):  # noqa: ANN001
    """A county authority reaches its county's entries; a neighbour county's does not,
    a province's authority reaches them all; a county never reaches a provincial entry."""
    accounts.add_region(session, "360103", "西湖区", parent="360100")
    west = accounts.add_organization(
        session, "西湖区数据局", kind="data_authority", region_code="360103"
    )
    neighbour = accounts.create_user(
        session, "reviewer_west", "correct-horse-9", org=west, roles=["reviewer"]
    )
    county_entry = new_entry("360102-MZ-0902", "低保", grade="重要数据")
    kw = {"entry_id": county_entry.id, "purpose": "sharing"}
    for ok in (people.reviewer_county, people.reviewer_city, people.reviewer_prov):
        instrument(ok, "authority_consent_important", **kw)
    with pytest.raises(NotEntitled, match="西湖区数据局"):
        instrument(neighbour, "authority_consent_important", **kw)
    prov_entry = catalog.create(
        session,
        {
            "resource_code": "360000-GA-0901",
            "name": "全省户籍",
            "summary": "全省户籍",
            "fields": [{"name": "姓名"}],
            "update_frequency": "每月",
            "security_grade": "重要数据",
            "sharing_attr": "conditional",
            "sharing_conditions": "按需",
            "opening_attr": "none",
        },
        actor=people.clerk_prov,
    )
    with pytest.raises(NotEntitled, match="东湖区数据局"):
        instrument(
            people.reviewer_county,
            "authority_consent_important",
            entry_id=prov_entry.id,
            purpose="sharing",
        )


def test_a_regulator_of_the_region_records_a_passed_security_assessment(
    session, people, entry, instrument
):  # noqa: ANN001
    reg_org = accounts.add_organization(
        session, "南昌市网信办", kind="regulator", region_code="360100"
    )
    regulator = accounts.create_user(
        session, "regulator_nc", "correct-horse-9", org=reg_org, roles=["regulator"]
    )
    item = instrument(
        regulator,
        "xbr_assessment",
        entry_id=entry.id,
        purpose="sharing",
        recipient_org_id=people.org["police"].id,
    )
    assert item.issuer_org_id == reg_org.id


def test_typed_text_never_satisfies_a_check(session, people, entry, instrument):  # noqa: ANN001
    instrument(people.clerk_county, "holder_authorization", entry_id=entry.id, purpose="market")
    for typed in ("x", "已取得权利人同意", "第1号"):
        with pytest.raises(InstrumentRequired, match="不能代替授权记录"):
            service.require(
                session,
                "holder_authorization",
                entry_id=entry.id,
                purpose="market",
                instrument_id=typed,
            )


def test_scope_must_match_entry_purpose_and_recipient(
    session, people, entry, op, instrument, new_entry
):  # noqa: ANN001
    other = new_entry("360102-MZ-0903", "婚姻登记")
    item = instrument(
        people.clerk_county,
        "holder_authorization",
        entry_id=entry.id,
        purpose="operation",
        recipient_org_id=op.org_id,
    )
    ok = {"entry_id": entry.id, "purpose": "operation", "recipient_org_id": op.org_id}
    assert service.require(session, "holder_authorization", **ok).id == item.id
    for change, why in [
        ({"entry_id": other.id}, "适用的数据目录不同"),
        ({"purpose": "market"}, "适用用途"),
        ({"recipient_org_id": people.org["police"].id}, "适用的接收方不同"),
    ]:
        with pytest.raises(InstrumentRequired, match=why):
            service.require(
                session, "holder_authorization", **{**ok, **change}, instrument_id=item.id
            )
        with pytest.raises(InstrumentRequired, match="目前没有"):
            service.require(session, "holder_authorization", **{**ok, **change})
    # a record of another kind is not this kind
    with pytest.raises(InstrumentRequired, match="其种类是"):
        service.require(session, "xbr_contract", **ok, instrument_id=item.id)


def test_expiry_and_not_yet_valid(session, people, entry, instrument):  # noqa: ANN001
    kw = {"entry_id": entry.id, "purpose": "market"}
    old = instrument(
        people.clerk_county,
        "holder_authorization",
        start=utcnow() - timedelta(days=10),
        days=5,
        **kw,
    )
    later = instrument(
        people.clerk_county, "holder_authorization", start=utcnow() + timedelta(days=3), **kw
    )
    with pytest.raises(InstrumentRequired, match="已过期"):
        service.require(session, "holder_authorization", **kw, instrument_id=old.id)
    with pytest.raises(InstrumentRequired, match="尚未生效"):
        service.require(session, "holder_authorization", **kw, instrument_id=later.id)
    with pytest.raises(InstrumentRequired, match="目前没有"):
        service.require(session, "holder_authorization", **kw)
    assert (
        service.require(session, "holder_authorization", **kw, at=utcnow() + timedelta(days=4)).id
        == later.id
    )


def test_revocation_by_the_issuer_only_and_it_ends_the_record(session, people, entry, instrument):  # noqa: ANN001
    kw = {"entry_id": entry.id, "purpose": "market"}
    item = instrument(people.clerk_county, "holder_authorization", **kw)
    with pytest.raises(NotEntitled, match="只有出具该记录的机构"):
        service.revoke(session, item.id, actor=people.clerk_prov, reason="x")
    with pytest.raises(BadInstrument, match="撤销理由"):
        service.revoke(session, item.id, actor=people.clerk_county, reason=" ")
    service.revoke(session, item.id, actor=people.clerk_county, reason="权利人撤回授权")
    with pytest.raises(InstrumentRequired, match="已被撤销"):
        service.require(session, "holder_authorization", **kw, instrument_id=item.id)
    with pytest.raises(InstrumentRequired):
        service.require(session, "holder_authorization", **kw)


def test_document_must_be_a_pdf_and_fields_are_named(session, people, entry, instrument, tmp_path):  # noqa: ANN001
    with pytest.raises(BadInstrument, match="PDF") as exc:
        service.store_document(b"hello", "x.txt", data_dir=tmp_path / "var")
    assert exc.value.detail == {"field": "document"}
    with pytest.raises(BadInstrument) as exc:
        instrument(people.clerk_county, "holder_authorization", entry_id=entry.id, purpose="x")
    assert exc.value.detail == {"field": "purpose"}
    with pytest.raises(BadInstrument) as exc:
        instrument(people.clerk_county, "xbr_contract", entry_id=entry.id, purpose="sharing")
    assert exc.value.detail == {"field": "recipient_org_id"}
