"""A demo-like world for tests that walk the whole app: the demo province loaded
through the real services, plus what the demo lacks (a sharing application and an
approved one with a consumer's error report, two market disputes, one answered)."""

from __future__ import annotations

import datetime as dt
import types

from sqlalchemy import select, update

from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry


def seed_world(session, session_factory, settings) -> None:  # noqa: ANN001
    from gongshu.demo import build_province
    from gongshu.demo.loader import load_demo
    from gongshu.exchange import reports
    from gongshu.exchange import service as sharing
    from gongshu.market import disputes
    from gongshu.market.models import Order
    from gongshu.quality.corrections import import_error_reports

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.datasets_dir.mkdir(parents=True, exist_ok=True)
    instance = types.SimpleNamespace(session_factory=session_factory, settings=settings)
    load_demo(instance, build_province(), echo=lambda _line: None, limit=30)

    users = list(session.scalars(select(User)))
    applicant = next(u for u in users if u.username == "clerk")
    entry = session.scalar(
        select(CatalogEntry)
        .where(
            CatalogEntry.sharing_attr == "conditional",
            CatalogEntry.published_version.is_not(None),
            CatalogEntry.provider_org_id != applicant.org_id,
        )
        .order_by(CatalogEntry.id)
        .limit(1)
    )
    provider = next(u for u in users if u.org_id == entry.provider_org_id and "clerk" in u.roles)
    wanted = {
        "reason": "核查申请人信息",
        "legal_basis": "《社会救助暂行办法》第十一条",
        "use": "资格审核",
        "scenario": "申请人信息核验",
        "requested_fields": [entry.fields[0]["name"]],
        "term_days": 30,
    }
    approved = sharing.apply(session, entry.id, actor=applicant, **wanted)
    sharing.approve(session, approved.id, actor=provider, conditions="仅用于资格审核")
    reports.report_error(
        session,
        entry.id,
        actor=applicant,
        field=None,
        row_description="第 1 行",
        description="数据有误",
        found_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )
    import_error_reports(session)  # what the quality.error_reports job does
    sharing.apply(session, entry.id, actor=applicant, **wanted)
    order = session.scalar(select(Order).order_by(Order.id).limit(1))
    buyer = next(u for u in users if order.buyer_user_id == u.id or u.org_id == order.buyer_org_id)
    seller = next(u for u in users if u.username == "operator")
    disputes.raise_dispute(session, order.id, actor=buyer, claim="交付数据与约定不符")
    answered = disputes.raise_dispute(session, order.id, actor=buyer, claim="交付延迟")
    disputes.respond(session, answered.id, actor=seller, response="已按约定时间交付")
    _open_use(session, users)
    session.flush()


def _open_use(session, users) -> None:  # noqa: ANN001
    """A pending conditional-open application, and a signed agreement with a breach."""
    from gongshu.accounts import jurisdiction
    from gongshu.opendata import agreements, breaches
    from gongshu.opendata import service as opendata

    entry = session.scalar(
        select(CatalogEntry)
        .where(
            CatalogEntry.opening_attr == "conditional",
            CatalogEntry.published_version.is_not(None),
        )
        .order_by(CatalogEntry.id)
        .limit(1)
    )
    user = next(u for u in users if u.identity_verified_at is not None and u.username != "admin")
    provider = next(u for u in users if u.org_id == entry.provider_org_id and "clerk" in u.roles)
    authority = next(
        u
        for u in users
        if u.org is not None
        and u.org.kind == "data_authority"
        and "reviewer" in u.roles
        and jurisdiction.covers(u.org.region_code, entry.region_code, jurisdiction.AREA)
    )
    wanted = {"use": "研究", "scenario": "分析", "security_measures": "专人管理", "term_days": 30}
    app = opendata.apply(session, entry.id, actor=user, **wanted)
    opendata.answer(session, app.id, actor=provider, approve=True)
    agreement = agreements.sign(session, agreements.agreement_for(session, app.id).id, actor=user)
    breaches.decide(
        session,
        agreement.id,
        actor=authority,
        finding="超出协议用途使用",
        correction_order="停止超范围使用",
        correction_workdays=10,
    )
    opendata.apply(session, entry.id, actor=user, **wanted)


def leave_clocks_pending(session) -> None:  # noqa: ANN001
    """Every running clock's deadline NULL, though the schedule covers its year: as after
    a ``chinese_calendar`` upgrade, until the worker's refresh fills them."""
    from gongshu.capabilities import clocks as all_clock_specs
    from gongshu.workdays.lifecycle import running

    for spec in all_clock_specs():
        stmt = update(spec.model).where(*running(spec)).values({spec.deadline: None})
        session.execute(stmt.execution_options(synchronize_session=False))
    session.expire_all()
    session.flush()
