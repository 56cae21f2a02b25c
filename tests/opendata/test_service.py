"""OPN-2..5: declared use, application, answer, signed agreement, disposal, breach."""

from __future__ import annotations

import hashlib
import json

import pytest

from gongshu.egress import service as egress
from gongshu.egress.errors import GrantInactive
from gongshu.errors import InvalidInput
from gongshu.ledger import entries
from gongshu.ledger.service import canonical_json
from gongshu.opendata import agreements, service
from gongshu.opendata.errors import (
    AlreadyAnswered,
    BadAnswer,
    NotApplicant,
    NotProvider,
    OpenEntryNotFound,
    WrongOpeningAttr,
)
from gongshu.protect.crypto import sm3


def read(session, grant_id, user, tmp_path, **kw):  # noqa: ANN001, ANN003, ANN201
    out = egress.deliver(
        session,
        grant_id,
        actor=user,
        fmt="json",
        datasets_dir=tmp_path / "var" / "datasets",
        work_dir=tmp_path / "out",
        secret="s",
        **kw,
    )
    return json.loads(out.read_text(encoding="utf-8"))


def actions(session, prefix="open."):  # noqa: ANN001, ANN201
    return [e.action for e in entries(session, action_prefix=prefix, limit=50)]


def test_declaring_a_use_grants_unconditional_open_data_once(
    session, people, open_data, tmp_path
) -> None:
    d = service.declare_use(
        session, open_data.free.id, actor=people.citizen, use="出行研究", scenario="公交优化"
    )
    again = service.declare_use(
        session, open_data.free.id, actor=people.citizen, use="别的", scenario="别的"
    )
    assert again.id == d.id
    grant = service.active_grant(session, open_data.free.id, people.citizen)
    assert grant.id == d.grant_id and grant.source == "open"
    data = read(session, grant.id, people.citizen, tmp_path, limit=5)
    assert data["columns"] == ["线路", "区", "站点数"] and len(data["rows"]) == 5
    assert "open.use_declared" in actions(session)


def test_declaration_needs_use_and_scenario_and_an_unconditional_entry(
    session, people, open_data
) -> None:
    with pytest.raises(InvalidInput, match="用途"):
        service.declare_use(session, open_data.free.id, actor=people.citizen, use=" ", scenario="x")
    with pytest.raises(WrongOpeningAttr):
        service.declare_use(session, open_data.cond.id, actor=people.citizen, use="a", scenario="b")
    with pytest.raises(OpenEntryNotFound):
        service.declare_use(
            session, open_data.closed.id, actor=people.citizen, use="a", scenario="b"
        )


def _approved(session, people, open_data):  # noqa: ANN001, ANN202
    app = service.apply(
        session,
        open_data.cond.id,
        actor=open_data.enterprise,
        use="客流分析",
        scenario="线路规划",
        security_measures="专网存储，专人管理",
        fields=["线路", "站点数"],
        term_days=30,
    )
    service.answer(
        session, app.id, actor=people.clerk_county, approve=True, conditions="不得再提供给第三方"
    )
    return app, agreements.agreement_for(session, app.id)


def test_conditional_open_application_agreement_signature_and_grant(
    session, people, open_data, tmp_path
) -> None:
    app, agreement = _approved(session, people, open_data)
    assert app.status == "approved"
    terms = agreement.terms
    # OPN-4: data list, use, scenario, security measures, term, disposal, feedback.
    assert terms["data"]["fields"] == ["线路", "站点数"] and terms["term_days"] == 30
    assert terms["security_measures"] == "专网存储，专人管理" and terms["disposal"]
    assert terms["feedback"] and terms["parties"]["provider"] == "东湖区民政局"
    body = canonical_json(terms).encode()
    assert agreement.sha256 == hashlib.sha256(body).hexdigest() and agreement.sm3 == sm3(body).hex()
    assert service.active_grant(session, open_data.cond.id, open_data.enterprise) is None

    with pytest.raises(NotApplicant):
        agreements.sign(session, agreement.id, actor=people.citizen)
    agreements.sign(session, agreement.id, actor=open_data.enterprise)
    signed = [e for e in entries(session, action_prefix="open.agreement_signed", limit=5)]
    assert signed[0].payload["sm3"] == agreement.sm3
    assert signed[0].payload["sha256"] == agreement.sha256
    assert signed[0].actor == "user:acme"

    data = read(session, agreement.grant_id, open_data.enterprise, tmp_path)
    assert data["columns"] == ["线路", "站点数"] and len(data["rows"]) == 30
    with pytest.raises(AlreadyAnswered):
        agreements.sign(session, agreement.id, actor=open_data.enterprise)

    # OPN-4: confirming disposal ends the grant at once.
    agreements.confirm_disposal(session, agreement.id, actor=open_data.enterprise)
    with pytest.raises(GrantInactive):
        read(session, agreement.grant_id, open_data.enterprise, tmp_path)
    assert {"open.applied", "open.approved", "open.disposal_confirmed"} <= set(actions(session))


def test_only_the_provider_answers_and_a_refusal_needs_reason_and_basis(
    session, people, open_data
) -> None:
    app = service.apply(
        session,
        open_data.cond.id,
        actor=people.citizen,
        use="u",
        scenario="s",
        security_measures="m",
    )
    with pytest.raises(NotProvider):
        service.answer(session, app.id, actor=people.clerk_prov, approve=True)
    with pytest.raises(BadAnswer):
        service.answer(session, app.id, actor=people.clerk_county, approve=False, reason="不行")
    service.answer(
        session,
        app.id,
        actor=people.clerk_county,
        approve=False,
        reason="涉及个人信息",
        legal_basis="个人信息保护法第十三条",
    )
    assert app.status == "refused" and agreements.agreement_for(session, app.id) is None
    with pytest.raises(AlreadyAnswered):
        service.answer(session, app.id, actor=people.clerk_county, approve=True)
    assert [a.id for a in service.inbox(session, people.clerk_county)] == [app.id]
    assert service.inbox(session, people.clerk_prov) == []


def test_application_checks_fields_and_term(session, people, open_data) -> None:
    kw = {"use": "u", "scenario": "s", "security_measures": "m"}
    with pytest.raises(InvalidInput, match="字段"):
        service.apply(session, open_data.cond.id, actor=people.citizen, fields=["密码"], **kw)
    with pytest.raises(InvalidInput, match="期限"):
        service.apply(session, open_data.cond.id, actor=people.citizen, term_days=0, **kw)
    with pytest.raises(WrongOpeningAttr):
        service.apply(session, open_data.free.id, actor=people.citizen, **kw)


def test_usage_feedback_from_the_signatory_only(session, people, open_data) -> None:
    _, agreement = _approved(session, people, open_data)
    with pytest.raises(Exception, match="协议尚未签署"):
        agreements.give_feedback(session, agreement.id, actor=open_data.enterprise, text="x")
    agreements.sign(session, agreement.id, actor=open_data.enterprise)
    with pytest.raises(Exception, match="只有签署人可以反馈使用情况"):
        agreements.give_feedback(session, agreement.id, actor=people.citizen, text="x")
    agreements.give_feedback(
        session,
        agreement.id,
        actor=open_data.enterprise,
        text="用于养老服务价格研究，已形成报告一份",
    )
    assert [f.text for f in agreements.feedback_of(session, agreement.id)] == [
        "用于养老服务价格研究，已形成报告一份"
    ]


def test_open_data_use_by_month(session, people, open_data, tmp_path) -> None:
    """Issue 17 item 8: the statistics' open-data chart counts declarations, files taken
    under open grants, and conditional applications received, approved and refused."""
    import datetime as dt

    from gongshu.timeutil import last_months, utcnow

    declaration = service.declare_use(
        session, open_data.free.id, actor=people.citizen, use="出行研究", scenario="论文"
    )
    read(session, declaration.grant_id, people.citizen, tmp_path)
    _approved(session, people, open_data)
    refused = service.apply(
        session,
        open_data.cond.id,
        actor=people.citizen,
        use="研究",
        scenario="课程",
        security_measures="本地加密",
        received_at=utcnow() - dt.timedelta(days=40),
    )
    service.answer(
        session,
        refused.id,
        actor=people.clerk_county,
        approve=False,
        reason="申请用途与开放条件不符",
        legal_basis="开放条件",
        now=utcnow() - dt.timedelta(days=35),
    )
    use = service.usage_by_month(session, region_prefix="3601")
    assert use["months"] == last_months(utcnow(), 12)
    assert (use["declared"][-1], use["downloads"][-1], use["approved"][-1]) == (1, 1, 1)
    assert sum(use["applied"]) == 2 and sum(use["refused"]) == 1 and use["refused"][-1] == 0
    assert sum(service.usage_by_month(session, region_prefix="3607")["declared"]) == 0
