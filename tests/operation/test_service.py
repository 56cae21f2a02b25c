"""Agreements (OPR-1..3), the sandbox and its disclosure check (OPR-4), products, expiry."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.errors import InvalidInput
from gongshu.ledger import LedgerEntry
from gongshu.ledger import entries as ledger_entries
from gongshu.operation import products, runs, service
from gongshu.operation.errors import ExportRefused, NotAuthority, NotOperable
from gongshu.timeutil import utcnow

AGG = "SELECT 街道, count(*) AS 人数, avg(月收入) AS 平均收入 FROM entry_{id} GROUP BY 街道"


def test_authorize_creates_operation_grants_with_the_opr2_fields(
    session, people, op, open_entry, authorize
):  # noqa: ANN001
    agreement = authorize([{"entry_id": open_entry.id}])
    assert agreement.status == "active"
    assert agreement.risk_report_sha256 and len(agreement.risk_report_sha256) == 64
    assert agreement.revenue_method.startswith("成本加合理利润")
    (item,) = agreement.items
    grant = session.get(Grant, item.grant_id)
    assert grant.source == "operation" and grant.recipient_org_id == op.org_id
    assert item.basis == "open"
    assert [e.action for e in ledger_entries(session, subject=f"operator:{op.org_id}")] == [
        "operation.authorized"
    ]


def test_only_the_data_authority_authorizes(session, people, op, open_entry, tmp_path):  # noqa: ANN001
    with pytest.raises(NotAuthority):
        service.authorize(
            session,
            actor=people.clerk_prov,
            operator_org_id=op.org_id,
            title="x",
            entries=[{"entry_id": open_entry.id}],
            term_days=30,
            revenue_method="x",
            security_requirements="x",
            disposal="x",
            report_name="r.pdf",
            report_path="r",
            report_sha256="0" * 64,
        )


def test_agreement_needs_the_risk_report_and_revenue_method(
    session, people, op, open_entry, authorize
):  # noqa: ANN001
    with pytest.raises(InvalidInput, match="合理收益计算方法"):
        authorize([{"entry_id": open_entry.id}], revenue_method=" ")
    with pytest.raises(InvalidInput, match="安全风险评估报告"):
        authorize([{"entry_id": open_entry.id}], report_path="")


def test_not_open_entry_refused_unless_desensitized_or_consented(
    session, people, op, closed_entry, secret_entry, authorize, instrument
):  # noqa: ANN001
    # OPR-3: a policy that keeps resident ID numbers in the clear does not desensitize.
    with pytest.raises(NotOperable, match="公民身份号码") as exc:
        authorize([{"entry_id": closed_entry.id, "policy": "share-conditional"}])
    assert "不予开放的数据须脱敏或取得权利人同意后方可运营" in exc.value.message
    desensitized = authorize([{"entry_id": closed_entry.id, "policy": "open"}])
    assert desensitized.items[0].basis == "desensitized"
    # trade secrets only: the rights holder (the providing agency) authorizes operation
    auth = instrument(
        people.clerk_county,
        "holder_authorization",
        entry_id=secret_entry.id,
        purpose="operation",
        recipient_org_id=op.org_id,
    )
    consented = authorize([{"entry_id": secret_entry.id, "consent": str(auth.id)}])
    assert consented.items[0].basis == "consent"
    assert consented.items[0].instrument_id == auth.id
    # without the record, a basis of consent on such an entry is refused
    with pytest.raises(NotOperable, match="须填写权利人授权记录编号"):
        authorize([{"entry_id": secret_entry.id, "basis": "consent"}])


def test_a_provider_authorization_does_not_license_personal_information(
    session, people, op, closed_entry, authorize, instrument
):  # noqa: ANN001
    """Issue 16 item 3: for personal information the rights holders are the persons; the
    provider's say-so (a holder_authorization on record) licenses nothing."""
    auth = instrument(
        people.clerk_county,
        "holder_authorization",
        entry_id=closed_entry.id,
        purpose="operation",
        recipient_org_id=op.org_id,
    )
    with pytest.raises(NotOperable, match="权利人是信息所属的个人") as exc:
        authorize(
            [{"entry_id": closed_entry.id, "policy": "share-conditional", "consent": str(auth.id)}]
        )
    assert "困难群众台账" in exc.value.message
    assert session.scalars(select(Grant).where(Grant.source == "operation")).first() is None
    # basis consent with no record named: licensed on per-person consent, filtered per read
    per_person = authorize(
        [{"entry_id": closed_entry.id, "policy": "share-conditional", "basis": "consent"}]
    )
    item = per_person.items[0]
    assert (item.basis, item.instrument_id) == ("consent", None)
    assert item.consent.startswith("个人同意记录")
    with pytest.raises(InvalidInput, match="授权依据"):
        authorize([{"entry_id": closed_entry.id, "basis": "trust me"}])


@pytest.mark.parametrize("typed", ["x", "权利人书面同意书 2026-11", " 12a "])
def test_exploit_a_consent_string_does_not_license_operation_of_not_open_data(
    session, people, op, closed_entry, secret_entry, authorize, typed
):  # noqa: ANN001
    """Audit exploit: the consent string 'x' licensed operation of not-share medical records.
    Refused for personal information and for trade secrets alike, with or without a basis."""
    for entry in (closed_entry, secret_entry):
        for extra in ({}, {"basis": "consent"}):
            with pytest.raises(NotOperable, match="不能代替授权记录") as exc:
                authorize([{"entry_id": entry.id, "consent": typed, **extra}])
            assert entry.name in exc.value.message
    assert session.scalars(select(Grant).where(Grant.source == "operation")).first() is None


def test_consent_record_of_another_scope_or_revoked_does_not_license_operation(
    session, people, op, open_entry, secret_entry, authorize, instrument
):  # noqa: ANN001
    other_entry = instrument(
        people.clerk_county,
        "holder_authorization",
        entry_id=open_entry.id,
        purpose="operation",
        recipient_org_id=op.org_id,
    )
    other_purpose = instrument(
        people.clerk_county, "holder_authorization", entry_id=secret_entry.id, purpose="market"
    )
    other_recipient = instrument(
        people.clerk_county,
        "holder_authorization",
        entry_id=secret_entry.id,
        purpose="operation",
        recipient_org_id=people.org["police"].id,
    )
    expired = instrument(
        people.clerk_county,
        "holder_authorization",
        entry_id=secret_entry.id,
        purpose="operation",
        start=utcnow() - timedelta(days=40),
        days=30,
    )
    for item, why in [
        (other_entry, "适用的数据目录不同"),
        (other_purpose, "适用用途是“挂牌交易”"),
        (other_recipient, "适用的接收方不同"),
        (expired, "已过期"),
        (99999, "不存在"),
    ]:
        ref = str(getattr(item, "id", item))
        with pytest.raises(NotOperable, match=why):
            authorize([{"entry_id": secret_entry.id, "consent": ref}])


def test_aggregate_passes_and_becomes_a_product_delivered_with_a_watermark(
    session, people, op, open_entry, authorize, rs, tmp_path
):  # noqa: ANN001
    agreement = authorize([{"entry_id": open_entry.id}])
    run = runs.run_query(
        session, agreement.id, AGG.format(id=open_entry.id), actor=op, settings=rs()
    )
    assert run.status == "passed" and run.kind == "aggregate"
    assert run.rows == 2 and run.smallest_group == 20
    assert run.columns == ["街道", "人数", "平均收入"]
    product = products.materialize_product(
        session,
        run.id,
        actor=op,
        name="街道低保收入统计",
        summary="按街道汇总",
        datasets_dir=tmp_path / "var" / "datasets",
    )
    assert product.scope == "product" and product.provider_org_id == op.org_id
    assert product.published_version == 1
    grant = products.product_grant(session, product, actor=op)
    out = egress.deliver(
        session,
        grant.id,
        actor=op,
        fmt="json",
        datasets_dir=tmp_path / "var" / "datasets",
        work_dir=tmp_path / "out",
        secret="s",
    )
    assert out.delivery.watermarked and out.delivery.rows == 2
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["columns"] == ["街道", "人数", "平均收入"]
    assert sorted(r[0] for r in data["rows"]) == ["八一街道", "豫章街道"]
    assert sorted(r[1] for r in data["rows"]) == [20, 20]  # counts stay exact (no mark)


def test_raw_resident_ids_are_refused_with_the_reason(
    session, people, op, open_entry, authorize, rs
):  # noqa: ANN001
    agreement = authorize([{"entry_id": open_entry.id, "policy": "share-conditional"}])
    with pytest.raises(ExportRefused) as exc:
        runs.run_query(
            session,
            agreement.id,
            f"SELECT 公民身份号码 FROM entry_{open_entry.id}",
            actor=op,
            settings=rs(),
        )
    assert "结果包含未脱敏的身份证号码" in exc.value.message
    (entry,) = session.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "operation.run_refused")
    )
    assert entry.payload["rule"] == "identifier"


def test_small_groups_are_refused(session, people, op, open_entry, authorize, rs):  # noqa: ANN001
    agreement = authorize([{"entry_id": open_entry.id}])
    sql = f"SELECT 月收入, count(*) AS n FROM entry_{open_entry.id} GROUP BY 月收入"
    with pytest.raises(ExportRefused, match="最小分组"):
        runs.run_query(session, agreement.id, sql, actor=op, settings=rs())
    # A cross join cannot inflate the count: distinct source records are counted.
    sql = (
        f"SELECT a.月收入, count(*) AS n FROM entry_{open_entry.id} a, entry_{open_entry.id} b "
        "GROUP BY a.月收入"
    )
    with pytest.raises(ExportRefused, match="最小分组"):
        runs.run_query(session, agreement.id, sql, actor=op, settings=rs())
    passed = runs.run_query(
        session,
        agreement.id,
        f"SELECT count(*) AS n FROM entry_{open_entry.id}",
        actor=op,
        settings=rs(min_group=40),
    )
    assert passed.smallest_group == 40


def test_row_level_output_needs_anonymized_data(session, people, op, open_entry, authorize, rs):  # noqa: ANN001
    agreement = authorize([{"entry_id": open_entry.id}])
    with pytest.raises(ExportRefused, match="明细级结果只能来自通过匿名化认定的数据"):
        runs.run_query(
            session,
            agreement.id,
            f"SELECT 街道 FROM entry_{open_entry.id}",
            actor=op,
            settings=rs(),
        )


def test_value_revealing_aggregates_are_refused(session, people, op, open_entry, authorize, rs):  # noqa: ANN001
    agreement = authorize([{"entry_id": open_entry.id}])
    for sql, match in [
        (f"SELECT 街道, max(月收入) FROM entry_{open_entry.id} GROUP BY 街道", "max"),
        (
            f"SELECT 街道, sum(CASE WHEN 姓名 = '张伟' THEN 月收入 ELSE 0 END) "
            f"FROM entry_{open_entry.id} GROUP BY 街道",
            "CASE",
        ),
    ]:
        with pytest.raises(ExportRefused, match=match):
            runs.run_query(session, agreement.id, sql, actor=op, settings=rs())


def test_expiry_stops_grants_then_disposal_is_confirmed(
    session, people, op, open_entry, authorize, rs
):  # noqa: ANN001
    agreement = authorize([{"entry_id": open_entry.id}], term_days=1)
    (expired,) = service.expire_due(session, now=utcnow() + timedelta(days=2))
    assert expired.id == agreement.id and expired.status == "expired"
    assert session.get(Grant, agreement.items[0].grant_id).revoked_at is not None
    confirmed = service.confirm_disposal(session, agreement.id, actor=op, note="中间结果已删除")
    assert confirmed.status == "disposed" and confirmed.disposal_confirmed_by == "user:operator"


def test_a_product_cannot_be_put_back_into_operation(
    session, people, op, open_entry, authorize, rs, tmp_path
):  # noqa: ANN001
    """OPR-8 (in part): products are not public catalog entries, so an agreement cannot
    take a delivered product back in for re-development."""
    agreement = authorize([{"entry_id": open_entry.id}])
    sql = f"SELECT count(*) AS n FROM entry_{open_entry.id}"
    run = runs.run_query(session, agreement.id, sql, actor=op, settings=rs())
    product = products.materialize_product(
        session,
        run.id,
        actor=op,
        name="总数",
        summary="总数",
        datasets_dir=tmp_path / "var" / "datasets",
    )
    with pytest.raises(NotOperable, match="不是已发布的公共数据目录"):
        authorize([{"entry_id": product.id}])
