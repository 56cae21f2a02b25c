"""Cross-border routes (XBR-1..XBR-5) as a table of cases, and counts from deliveries."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from gongshu.compliance import crossborder, reports
from gongshu.compliance.crossborder import Facts
from gongshu.compliance.errors import AssessmentRequired, BadFacts, TransferRouteRequired
from gongshu.datasets import service as datasets
from gongshu.documents import pdf_text, render_pdf
from gongshu.egress import service as egress
from gongshu.egress.models import Delivery
from gongshu.identifiers import id_check_char
from gongshu.ledger import entries as ledger_entries
from gongshu.privacy import consent
from gongshu.timeutil import utcnow
from gongshu.workdays import beijing_date

CASES = [
    # (requirement, facts, route, words in the reasons)
    ("XBR-1 important data", Facts(important_data=True), "security_assessment", "重要数据"),
    ("XBR-1 CIIO", Facts(ciio=True, people_abroad=10), "security_assessment", "关键信息基础设施"),
    ("XBR-1 CIIO, nothing abroad", Facts(ciio=True), "none", "未向境外"),
    (
        "XBR-1 1,000,000 processed",
        Facts(total_people=1_000_000, people_abroad=5),
        "security_assessment",
        "100万人以上",
    ),
    (
        "XBR-2 999,999 processed",
        Facts(total_people=999_999, people_abroad=5),
        "contract_or_certification",
        "标准合同",
    ),
    ("XBR-1 100,000 abroad", Facts(people_abroad=100_000), "security_assessment", "10万人以上"),
    ("XBR-2 99,999 abroad", Facts(people_abroad=99_999), "contract_or_certification", "第三十五条"),
    (
        "XBR-1 10,000 sensitive",
        Facts(people_abroad=10_000, sensitive_abroad=10_000),
        "security_assessment",
        "1万人以上",
    ),
    (
        "XBR-2 9,999 sensitive",
        Facts(people_abroad=20_000, sensitive_abroad=9_999),
        "contract_or_certification",
        "认证",
    ),
    ("XBR-2 nothing abroad", Facts(total_people=5_000_000), "none", "不适用"),
]


@pytest.mark.parametrize(("req", "facts", "route", "why"), CASES, ids=[c[0] for c in CASES])
def test_route(req, facts, route, why) -> None:  # noqa: ANN001
    chosen, reasons = crossborder.route(facts)
    assert chosen == route, req
    assert any(why in r for r in reasons), reasons
    if route == "security_assessment":
        assert all("《数据出境安全评估办法》第四条" in r for r in reasons)


def test_sensitive_cannot_exceed_people() -> None:
    with pytest.raises(BadFacts):
        Facts(people_abroad=10, sensitive_abroad=11)


def test_period_starts_1_january_of_previous_year() -> None:
    assert crossborder.period_start(dt.date(2026, 12, 1)) == dt.date(2025, 1, 1)


IDS = [b + id_check_char(b) for b in (f"36010219800101{i:03d}" for i in range(1, 41))]


@pytest.fixture
def household(session, people, tmp_path):  # noqa: ANN001, ANN201
    """A household-registration entry with 40 resident IDs and a recipient marked abroad."""
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0401",
            "name": "户籍登记名单",
            "summary": "户籍登记",
            "fields": [{"name": "姓名"}, {"name": "公民身份号码", "kind": "resident_id"}],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "依法",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    csv = tmp_path / "in.csv"
    csv.write_text("姓名,公民身份号码\n" + "".join(f"张{i},{x}\n" for i, x in enumerate(IDS)))
    datasets.load(session, entry.id, csv, actor=people.clerk_county, datasets_dir=tmp_path / "d")
    foreign = accounts.add_organization(
        session, "香江研究所", kind="enterprise", region_code="360000"
    )
    fuser = accounts.create_user(
        session, "hk_user", "correct-horse-9", org=foreign, roles=["enterprise"]
    )
    return SimpleNamespace(entry=entry, org=foreign, user=fuser)


def _mark(session, people, h):  # noqa: ANN001, ANN202
    crossborder.mark_foreign(
        session, h.org.id, actor=people.admin, country="新加坡", contact="a@b.sg"
    )


def _grant(session, people, entry, org_id):  # noqa: ANN001, ANN202
    return egress.create_grant(
        session,
        entry,
        recipient_org_id=org_id,
        purpose="研究",
        source="sharing",
        actor=people.admin,
    )


def _deliver(session, grant, user, tmp_path):  # noqa: ANN001, ANN202
    return egress.deliver(
        session,
        grant.id,
        actor=user,
        fmt="json",
        datasets_dir=tmp_path / "d",
        work_dir=tmp_path / "o",
        secret="s",
    )


def _consent_abroad(session, people, h, id_number, kinds=("PERSON_NAME", "CN_RESIDENT_ID")):  # noqa: ANN001, ANN202
    """The person's separate consents to going abroad, one record per kind (the resident
    ID number is sensitive: a record of its own)."""
    records = [
        consent.give(
            session,
            org=people.org["civil"],
            id_number=id_number,
            purpose="向香江研究所提供用于研究",
            method="向境外提供",
            data_kinds=[kind],
            on=beijing_date(utcnow()) - dt.timedelta(days=1),
            secret="s",
            actor="user:clerk_county",
            abroad_recipient_org_id=h.org.id,
        )
        for kind in kinds
    ]
    return records


@pytest.fixture
def delivered_abroad(session, people, household, instrument, tmp_path):  # noqa: ANN001, ANN201
    """Rows delivered to a recipient marked foreign under a standard contract, 3 people
    having consented separately; the whole 40 rows to a domestic one."""
    h = household
    _mark(session, people, h)
    instrument(
        people.clerk_county,
        "xbr_contract",
        entry_id=h.entry.id,
        purpose="sharing",
        recipient_org_id=h.org.id,
    )
    for number in IDS[:3]:
        _consent_abroad(session, people, h, number)
    for org_id, user in ((h.org.id, h.user), (people.org["police"].id, people.clerk_prov)):
        _deliver(session, _grant(session, people, h.entry, org_id), user, tmp_path)
    return h.entry


def test_exploit_household_rows_abroad_without_assessment_contract_or_consent(
    session, people, household, tmp_path
):  # noqa: ANN001
    """Audit exploit: a household-registration row was delivered to an organization marked
    as abroad with no assessment, contract or consent."""
    h = household
    before = _grant(session, people, h.entry, h.org.id)  # granted while still domestic
    _mark(session, people, h)
    with pytest.raises(TransferRouteRequired, match="接收方「香江研究所」位于境外（新加坡）"):
        _grant(session, people, h.entry, h.org.id)
    with pytest.raises(TransferRouteRequired, match="出境标准合同"):
        _deliver(session, before, h.user, tmp_path)
    assert session.scalars(select(Delivery)).first() is None


def test_rows_without_separate_consent_are_withheld_and_the_withholding_recorded(
    session, people, household, instrument, tmp_path
):  # noqa: ANN001
    h = household
    _mark(session, people, h)
    contract = instrument(
        people.clerk_county,
        "xbr_contract",
        entry_id=h.entry.id,
        purpose="sharing",
        recipient_org_id=h.org.id,
    )
    grant = _grant(session, people, h.entry, h.org.id)
    first = _deliver(session, grant, h.user, tmp_path)
    assert first.delivery.rows == 0  # nobody consented: every row kept back
    withdrawn = _consent_abroad(session, people, h, IDS[5])
    _consent_abroad(session, people, h, IDS[7])
    _consent_abroad(session, people, h, IDS[9], kinds=["PERSON_NAME"])  # not the ID number
    for record in withdrawn:
        consent.withdraw(session, record.id, on=beijing_date(utcnow()), actor=people.clerk_county)
    second = _deliver(session, grant, h.user, tmp_path)
    rows = json.loads(second.read_text())["rows"]
    assert second.delivery.rows == 1 and [r[0] for r in rows] == ["张7"]
    (entry_rec,) = [
        e
        for e in ledger_entries(session, subject=f"entry:{h.entry.id}")
        if e.action == "egress.delivered" and e.payload["delivery"] == second.delivery.token
    ]
    (withheld,) = entry_rec.payload["withheld"]
    assert withheld["rows"] == 39 and "单独同意" in withheld["reason"]  # 张9 too
    assert not any(x in json.dumps(entry_rec.payload, ensure_ascii=False) for x in IDS)
    # the contract revoked: nothing leaves at all
    from gongshu.instruments import service as instruments

    instruments.revoke(session, contract.id, actor=people.clerk_county, reason="合同终止")
    with pytest.raises(TransferRouteRequired):
        _deliver(session, grant, h.user, tmp_path)


def test_a_separate_consent_abroad_names_a_recipient_marked_abroad(session, people, household):  # noqa: ANN001
    from gongshu.privacy.errors import BadConsent

    with pytest.raises(BadConsent, match="已登记为境外接收方"):
        _consent_abroad(session, people, household, IDS[0])  # not marked abroad yet


def test_a_contract_for_another_recipient_or_use_does_not_cover(
    session, people, household, instrument
):  # noqa: ANN001
    h = household
    _mark(session, people, h)
    instrument(
        people.clerk_county,
        "xbr_contract",
        entry_id=h.entry.id,
        purpose="market",
        recipient_org_id=h.org.id,
    )
    instrument(
        people.clerk_county,
        "xbr_certification",
        entry_id=h.entry.id,
        purpose="sharing",
        recipient_org_id=people.org["police"].id,
    )
    with pytest.raises(TransferRouteRequired):
        _grant(session, people, h.entry, h.org.id)
    # a passed security assessment recorded by the authority covers it
    instrument(
        people.reviewer_county,
        "xbr_assessment",
        entry_id=h.entry.id,
        purpose="sharing",
        recipient_org_id=h.org.id,
    )
    assert _grant(session, people, h.entry, h.org.id)


def test_counts_come_from_delivery_records(session, people, delivered_abroad) -> None:  # noqa: ANN001
    """XBR-1: people and sensitive-people counts abroad from the egress records."""
    counts = crossborder.platform_counts(session, people.org["civil"].id, beijing_date(utcnow()))
    assert counts == {
        "since": f"{beijing_date(utcnow()).year - 1}-01-01",
        "deliveries": 1,
        "people_abroad": 3,
        "sensitive_abroad": 3,
    }
    doc = reports.export_report(session, people.org["civil"].id, beijing_date(utcnow()).year)
    text = pdf_text(render_pdf(doc))
    assert "香江研究所" in text and "新加坡" in text and "1月31日前" in text


def test_foreign_judicial_recipient_is_refused(session, people) -> None:  # noqa: ANN001
    """XBR-5: nothing to foreign judicial or law-enforcement bodies without approval."""
    from tests.exchange.conftest import publish

    entry = publish(session, people, code="360000-GA-0801", name="户籍", attr="conditional")
    court = accounts.add_organization(session, "某国法院", kind="enterprise", region_code="360000")
    crossborder.mark_foreign(session, court.id, actor=people.admin, country="某国", judicial=True)
    with pytest.raises(AssessmentRequired, match="接收方为外国司法或执法机构"):
        egress.create_grant(
            session,
            entry,
            recipient_org_id=court.id,
            purpose="取证",
            source="sharing",
            actor=people.admin,
        )
