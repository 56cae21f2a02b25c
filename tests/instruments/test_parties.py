"""SEC-13 for the outside party itself: an operator or processor without the data
authority's passed security review and a signed confidentiality agreement on record gets
no operation licence and no grant; only the authority of its region or above records them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gongshu.accounts import service as accounts
from gongshu.accounts.errors import OutsideJurisdiction
from gongshu.catalog import service as catalog
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.instruments import service
from gongshu.instruments.errors import BadInstrument, InstrumentRequired, NotEntitled
from gongshu.ledger.models import LedgerEntry
from gongshu.operation import runs
from gongshu.operation import service as operation
from gongshu.operation.models import OperatorAgreement, SandboxRun
from gongshu.timeutil import utcnow
from tests.operation.conftest import publish_and_load, report

REVIEW = service.KINDS["party_review"]
AGREEMENT = service.KINDS["party_agreement"]


def _org(session, name="赣鄱数据运营有限公司", kind="operator", region="360000"):  # noqa: ANN001, ANN202
    return accounts.add_organization(session, name, kind=kind, region_code=region)


def _licence(session, people, org, entry, tmp_path):  # noqa: ANN001, ANN202
    path, sha = report(tmp_path)
    return operation.authorize(
        session,
        actor=people.reviewer_prov,
        operator_org_id=org.id,
        title="学校名录授权运营",
        entries=[{"entry_id": entry.id}],
        term_days=365,
        revenue_method="成本加合理利润",
        security_requirements="仅在平台沙箱内处理",
        disposal="到期删除中间结果",
        report_name="评估报告.pdf",
        report_path=path,
        report_sha256=sha,
    )


def _counts(session) -> tuple[int, int, int]:  # noqa: ANN001
    return (
        session.scalar(select(func.count()).select_from(OperatorAgreement)),
        session.scalar(select(func.count()).select_from(Grant)),
        session.scalar(select(func.count()).select_from(LedgerEntry)),
    )


@pytest.fixture
def open_entry(session, people, tmp_path):  # noqa: ANN001, ANN201
    return publish_and_load(
        session,
        people,
        tmp_path,
        code="360102-MZ-0701",
        name="低保对象收入",
        opening="unconditional",
    )


def _party(instrument, people, org, kind, **kw):  # noqa: ANN001, ANN003, ANN202
    return instrument(
        people.reviewer_prov, kind, purpose="", recipient_org_id=org.id, title=kind, **kw
    )


def test_operator_without_review_gets_no_licence_and_nothing_is_written(
    session, people, open_entry, tmp_path
):  # noqa: ANN001
    org = _org(session)
    before = _counts(session)
    with pytest.raises(InstrumentRequired) as caught:
        _licence(session, people, org, open_entry, tmp_path)
    message = caught.value.message
    assert f"没有「{REVIEW}」记录" in message and f"没有「{AGREEMENT}」记录" in message
    assert "「赣鄱数据运营有限公司」" in message and "不能获得授权运营" in message
    assert _counts(session) == before  # no agreement, no grant, no ledger entry


def test_expired_agreement_or_revoked_review_is_refused(
    session, people, open_entry, tmp_path, instrument
):  # noqa: ANN001
    org = _org(session)
    review = _party(instrument, people, org, "party_review", days=400)
    start = utcnow() - timedelta(days=60)
    _party(instrument, people, org, "party_agreement", start=start, days=30)
    before = _counts(session)
    with pytest.raises(InstrumentRequired, match=f"「{AGREEMENT}」记录（第 \\d+ 号）已于.*过期"):
        _licence(session, people, org, open_entry, tmp_path)
    _party(instrument, people, org, "party_agreement", days=365)
    service.revoke(session, review.id, actor=people.reviewer_prov, reason="复查不合格")
    with pytest.raises(InstrumentRequired, match=f"「{REVIEW}」记录.*已被撤销"):
        _licence(session, people, org, open_entry, tmp_path)
    assert _counts(session)[:2] == before[:2]


def test_with_both_records_valid_the_licence_is_granted(
    session, people, open_entry, tmp_path, instrument
):  # noqa: ANN001
    org = _org(session)
    _party(instrument, people, org, "party_review", days=400)
    _party(instrument, people, org, "party_agreement", days=365)
    agreement = _licence(session, people, org, open_entry, tmp_path)
    (item,) = agreement.items
    assert session.get(Grant, item.grant_id).recipient_org_id == org.id


def test_a_revoked_agreement_stops_the_operators_sandbox(
    session, people, open_entry, tmp_path, instrument
):  # noqa: ANN001
    org = _org(session)
    user = accounts.create_user(session, "op2", "correct-horse-9", org=org, roles=["operator"])
    _party(instrument, people, org, "party_review", days=400)
    signed = _party(instrument, people, org, "party_agreement", days=365)
    agreement = _licence(session, people, org, open_entry, tmp_path)
    settings = runs.RunSettings(datasets_dir=tmp_path / "var" / "datasets", secret="s")
    sql = f"SELECT 街道, count(*) AS 人数 FROM entry_{open_entry.id} GROUP BY 街道"
    assert runs.run_query(session, agreement.id, sql, actor=user, settings=settings)
    service.revoke(session, signed.id, actor=people.reviewer_prov, reason="违反保密约定")
    count = session.scalar(select(func.count()).select_from(SandboxRun))
    with pytest.raises(
        InstrumentRequired, match=f"「{AGREEMENT}」记录.*已被撤销.*不能使用授权运营沙箱"
    ):
        runs.run_query(session, agreement.id, sql, actor=user, settings=settings)
    assert session.scalar(select(func.count()).select_from(SandboxRun)) == count


def _grant(session, people, entry, org, source):  # noqa: ANN001, ANN202
    return egress.create_grant(
        session,
        entry,
        recipient_org_id=org.id,
        purpose="测试",
        source=source,
        actor=people.reviewer_prov,
    )


def test_the_gate_refuses_every_grant_to_an_uncleared_operator_or_processor(
    session, people, entry, instrument
):  # noqa: ANN001
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    operator = _org(session)
    for source in ("sharing", "market", "operation"):  # an operator: whatever the route
        with pytest.raises(InstrumentRequired, match="不能获得数据授权"):
            _grant(session, people, entry, operator, source)
    # an enterprise entrusted with processing under an operation licence is a processor
    firm = _org(session, "洪城数据加工有限公司", kind="enterprise", region="360100")
    with pytest.raises(InstrumentRequired, match=REVIEW):
        _grant(session, people, entry, firm, "operation")
    assert _grant(session, people, entry, firm, "sharing").recipient_org_id == firm.id
    _party(instrument, people, operator, "party_review")
    _party(instrument, people, operator, "party_agreement")
    assert _grant(session, people, entry, operator, "sharing").recipient_org_id == operator.id


def test_only_the_data_authority_of_the_partys_region_or_above_records_the_review(
    session, people, op, instrument
):  # noqa: ANN001
    accounts.add_region(session, "360700", "赣州市", parent="360000")
    gz = accounts.add_organization(
        session, "赣州市数据局", kind="data_authority", region_code="360700"
    )
    reviewer_gz = accounts.create_user(
        session, "reviewer_gz", "correct-horse-9", org=gz, roles=["reviewer"]
    )
    city_op = _org(session, "南昌数据运营有限公司", region="360100")
    prov_op = _org(session)
    for actor, org in (
        (people.reviewer_city, prov_op),  # a lower tier
        (people.reviewer_county, city_op),  # a lower tier
        (reviewer_gz, city_op),  # another region of the same tier
    ):
        with pytest.raises(OutsideJurisdiction, match="无权审查"):
            instrument(actor, "party_review", purpose="", recipient_org_id=org.id)
    for actor in (op, people.clerk_prov):  # the party itself, an agency: not an authority
        with pytest.raises(NotEntitled, match="数据管理部门出具"):
            instrument(actor, "party_review", purpose="", recipient_org_id=city_op.id)
    assert instrument(people.reviewer_city, "party_review", purpose="", recipient_org_id=city_op.id)
    assert instrument(people.reviewer_prov, "party_review", purpose="", recipient_org_id=city_op.id)
    # the agreement: with a reviewed party only, and by an authority reaching it
    with pytest.raises(BadInstrument, match="须先经安全审查合格") as caught:
        instrument(people.reviewer_prov, "party_agreement", purpose="", recipient_org_id=prov_op.id)
    assert caught.value.detail["field"] == "kind"
    with pytest.raises(OutsideJurisdiction, match="无权与"):
        instrument(reviewer_gz, "party_agreement", purpose="", recipient_org_id=city_op.id)
    agreement = instrument(
        people.reviewer_city, "party_agreement", purpose="", recipient_org_id=city_op.id
    )
    assert (agreement.purpose, agreement.entry_id) == ("outsourcing", None)
    assert len(agreement.document_sm3) == 64
    # only operators and processors are reviewed this way; the party must be named
    for org_id in (people.clerk_prov.org_id, None):
        with pytest.raises(BadInstrument) as caught:
            instrument(people.reviewer_prov, "party_review", purpose="", recipient_org_id=org_id)
        assert caught.value.detail["field"] == "recipient_org_id"


def test_a_lapsed_review_stops_deliveries_on_a_grant_made_before(
    session, people, open_entry, tmp_path, instrument
):  # noqa: ANN001
    org = _org(session)
    user = accounts.create_user(session, "op3", "correct-horse-9", org=org, roles=["operator"])
    review = _party(instrument, people, org, "party_review", days=400)
    _party(instrument, people, org, "party_agreement", days=365)
    grant = _grant(session, people, open_entry, org, "sharing")

    def deliver():  # noqa: ANN202
        return egress.deliver(
            session,
            grant.id,
            actor=user,
            fmt="json",
            datasets_dir=tmp_path / "var" / "datasets",
            work_dir=tmp_path / "work",
            secret="s",
            in_memory=True,
        )

    assert deliver().content
    service.revoke(session, review.id, actor=people.reviewer_prov, reason="复查不合格")
    with pytest.raises(InstrumentRequired, match=f"「{REVIEW}」记录.*已被撤销.*不能接收数据"):
        deliver()
