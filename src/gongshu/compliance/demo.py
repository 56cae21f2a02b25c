"""Demo and test seeds for compliance, through the real service functions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry
from gongshu.compliance import assessments
from gongshu.compliance.models import ImpactAssessment
from gongshu.timeutil import utcnow
from gongshu.workdays import beijing_date

PROVISION_ANSWERS = {
    "purpose": "依法履行职责，经共享、开放审批后向其他机构提供，目的明确、范围最小。",
    "impact": "身份证号等敏感个人信息泄露可能造成财产和人身风险。",
    "measures": "按授权提供所需字段，默认脱敏并嵌入水印，全程记入账本。",
    "recipients": "经审批的公共管理和服务机构及签订开放利用协议的用户。",
}


def seed_provider_assessments(
    session: Session, clerks: list[User], entry_ids: list[int] | None = None
) -> dict[int, ImpactAssessment]:
    """A current PIP-8 assessment covering provision to others for every use, one per
    clerk's organization, scoped to ``entry_ids`` (the organization's own among them).
    Returns them by organization."""
    today = beijing_date(utcnow())
    out = {}
    for clerk in clerks:
        own = [
            e
            for e in entry_ids or []
            if session.get(CatalogEntry, e).provider_org_id == clerk.org_id
        ]
        out[clerk.org_id] = assessments.create(
            session,
            actor=clerk,
            activity="公共数据共享与开放中向他人提供个人信息",
            covers=["provision", "sensitive"],
            answers=PROVISION_ANSWERS,
            conclusion="风险可控，可在授权和脱敏条件下提供。",
            assessed_on=today - dt.timedelta(days=30),
            valid_until=today + dt.timedelta(days=335),
            entry_ids=own,
            purposes=list(assessments.PURPOSES),
        )
    return out


def seed_entry_assessments(session: Session, demo) -> None:  # noqa: ANN001, ARG001
    """Demo, once the entries exist: each agency assesses providing its own entries to
    others for every use (PIP-8 is scoped to the entry and the use)."""
    from sqlalchemy import select

    from gongshu.accounts.models import Organization

    admin = session.scalar(select(User).where(User.username == "admin"))
    if admin is None:
        return
    today = beijing_date(utcnow())
    agencies = session.scalars(select(Organization).where(Organization.kind == "agency")).all()
    for org in agencies:
        own = list(
            session.scalars(select(CatalogEntry.id).where(CatalogEntry.provider_org_id == org.id))
        )
        if not own:
            continue
        assessments.create(
            session,
            actor=admin,
            org_id=org.id,
            activity="本单位公共数据目录向他人提供（共享、开放、授权运营、交易）",
            covers=["provision", "sensitive"],
            answers=PROVISION_ANSWERS,
            conclusion="风险可控，可在授权和脱敏条件下提供。",
            assessed_on=today - dt.timedelta(days=1),
            valid_until=today + dt.timedelta(days=364),
            entry_ids=own,
            purposes=list(assessments.PURPOSES),
        )


def seed_demo(session: Session) -> None:
    """Demo: assessments for every agency, an incident on the clock, an audit with some
    points assessed, a cross-border assessment and an obligations profile."""
    from sqlalchemy import select

    from gongshu.accounts.models import Organization
    from gongshu.compliance import audits, crossborder, incidents, obligations, rectification

    users = {u.username: u for u in session.scalars(select(User))}
    admin, clerk, auditor = users.get("admin"), users.get("clerk"), users.get("auditor")
    if admin is None or clerk is None or auditor is None:
        return
    today = beijing_date(utcnow())
    agencies = session.scalars(select(Organization).where(Organization.kind == "agency")).all()
    for org in agencies:
        assessments.create(
            session,
            actor=admin,
            org_id=org.id,
            activity="公共数据共享与开放中向他人提供个人信息",
            covers=["provision", "sensitive"],
            answers=PROVISION_ANSWERS,
            conclusion="风险可控，可在授权和脱敏条件下提供。",
            assessed_on=today - dt.timedelta(days=30),
            valid_until=today + dt.timedelta(days=335),
        )
    assessments.create(
        session,
        actor=clerk,
        activity="人口信息自动化比对核验",
        covers=["automated"],
        answers=PROVISION_ANSWERS | {"purpose": "自动比对户籍与社保信息，结果须人工复核。"},
        conclusion="需提供人工复核渠道，风险可控。",
        assessed_on=today - dt.timedelta(days=200),
    )
    found = utcnow() - dt.timedelta(hours=3)
    inc = incidents.record_incident(
        session,
        actor=clerk,
        title="人口信息接口异常调用",
        system="省人口信息共享接口",
        found_at=found,
        place="省政务云",
        kind="数据泄露（疑似越权调用）",
        grade="large",
        personal_info=True,
        important_data=False,
        people_affected=12_800,
        harm_done=True,
        harm="约 1.28 万人的姓名、身份证号被异常查询",
        measures="已封禁调用方凭据，接口限流",
        trend="已受控",
        cause="调用方凭据泄露",
        clue_attacker="外省 IP 段",
        clue_path="共享接口",
        clue_vulnerability="凭据未轮换",
        further_measures="凭据全面轮换，增加调用审计",
        help_needed="无",
        scene_protection="日志已封存",
    )
    incidents.submit_report(
        session, inc.id, "cyber_1h", actor=clerk, at=found + dt.timedelta(minutes=40)
    )
    aud_org = auditor.org_id
    audit = audits.create(
        session,
        actor=clerk,
        subject_org_id=clerk.org_id,
        trigger="ordered",
        conductor="institution",
        institution_org_id=aud_org,
        institution_head="周正信",
        lead_name="吴敏",
        scope="个人信息处理活动全部 31 条参考要点",
        notified_at=utcnow() - dt.timedelta(days=20),
    )
    audits.assess(session, audit.id, 25, actor=auditor, result="compliant")
    audits.assess(
        session,
        audit.id,
        27,
        actor=auditor,
        result="partially_compliant",
        findings="24 小时补报尚未完成",
    )
    audits.assess(session, audit.id, 3, actor=auditor, result="compliant")
    rectification.add_rectification(
        session,
        audit.id,
        27,
        actor=auditor,
        text="完善事件补报流程",
        owner="李明",
        due_on=today + dt.timedelta(days=30),
    )
    crossborder.assess(
        session, actor=clerk, facts=crossborder.Facts(total_people=4_600_000, people_abroad=0)
    )
    obligations.save_profile(
        session,
        clerk.org_id,
        obligations.Profile(
            people=4_600_000,
            sensitive_people=4_600_000,
            important_data=True,
            important_identified_on=today - dt.timedelta(days=3),
        ),
        actor=clerk,
    )


def seed(session: Session, demo: object) -> None:
    """The registry's demo seed (``Capability.demo``, before the entries' data)."""
    seed_demo(session)
