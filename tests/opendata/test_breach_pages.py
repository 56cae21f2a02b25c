"""The data authority's OPN-5 desk: decide, confirm, fine within the range, by form."""

from __future__ import annotations

from gongshu.opendata import agreements, breaches, service


def test_the_authority_decides_and_fines_only_within_the_range(
    client, login, session, people, open_data
) -> None:
    app = service.apply(
        session,
        open_data.cond.id,
        actor=open_data.enterprise,
        use="客流分析",
        scenario="线路规划",
        security_measures="专人管理",
        term_days=30,
    )
    service.answer(session, app.id, actor=people.clerk_county, approve=True)
    agreement = agreements.agreement_for(session, app.id)
    agreements.sign(session, agreement.id, actor=open_data.enterprise)
    session.flush()
    login("reviewer_county")
    page = client.get("/open/breaches").text
    assert f'id="agreement-{agreement.id}"' in page and "一万元以上十万元以下" in page
    r = client.post(
        f"/open/agreements/{agreement.id}/breaches",
        data={"finding": "转给第三方", "correction_order": "收回删除", "correction_workdays": "十"},
    )
    assert r.status_code == 400 and "改正期限（工作日）须为整数" in r.text
    r = client.post(
        f"/open/agreements/{agreement.id}/breaches",
        data={"finding": "转给第三方", "correction_order": "收回删除", "correction_workdays": "7"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    (breach,) = breaches.of_user(session, open_data.enterprise.id)
    assert (
        breach.correction_workdays == 7 and breach.authority_org_id == people.reviewer_county.org_id
    )
    r = client.post(
        f"/open/breaches/{breach.id}/fine",
        data={"amount_yuan": "5000", "reason": "serious", "note": "造成信息泄露"},
    )
    assert r.status_code == 400 and "一万元以上十万元以下" in r.text
    # a city reviewer over the county may act; the provider's clerk may not see the desk
    login("clerk_county")
    assert client.get("/open/breaches").status_code == 403
    login("reviewer_city")
    r = client.post(
        f"/open/breaches/{breach.id}/fine",
        data={"amount_yuan": "30000", "reason": "serious", "note": "造成信息泄露"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "罚款 30000 元" in r.text
    # the party sees it on its agreement's page
    login("acme")
    assert "罚款 30000 元" in client.get(f"/open/agreements/{agreement.id}").text


def test_a_refused_breach_decision_comes_back_beside_its_field(
    client, login, session, people, open_data
) -> None:
    """Issue 17 item 6: the desk again with status 400, the message beside the field of
    that agreement's card, what was typed kept, nothing written."""
    from sqlalchemy import func, select

    from gongshu.ledger.models import LedgerEntry
    from gongshu.opendata.models import OpenBreach

    app = service.apply(
        session,
        open_data.cond.id,
        actor=open_data.enterprise,
        use="客流分析",
        scenario="线路规划",
        security_measures="专人管理",
        term_days=30,
    )
    service.answer(session, app.id, actor=people.clerk_county, approve=True)
    agreement = agreements.agreement_for(session, app.id)
    agreements.sign(session, agreement.id, actor=open_data.enterprise)
    session.commit()
    login("reviewer_county")
    before = session.scalar(select(func.count()).select_from(LedgerEntry))
    r = client.post(
        f"/open/agreements/{agreement.id}/breaches",
        data={"finding": "转给第三方", "correction_order": " ", "correction_workdays": "99"},
    )
    key = f"a{agreement.id}"
    assert r.status_code == 400 and f'id="agreement-{agreement.id}"' in r.text
    assert f'id="correction_workdays-{key}-error">改正期限须为 1 至' in r.text
    assert f'href="#correction_workdays-{key}"' in r.text
    assert 'value="转给第三方"' in r.text and 'value="99"' in r.text
    r = client.post(
        f"/open/agreements/{agreement.id}/breaches",
        data={"finding": "转给第三方", "correction_order": " ", "correction_workdays": "7"},
    )
    assert (
        r.status_code == 400 and f'id="correction_order-{key}-error">请填写责令改正的要求' in r.text
    )
    assert session.scalar(select(func.count()).select_from(OpenBreach)) == 0
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before
