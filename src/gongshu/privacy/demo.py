"""Demo data for personal information: a few consents and one open rights request,
made through the real services (``make demo``)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.accounts.notify import OutboxNotifier
from gongshu.config import Settings
from gongshu.demo.model import DemoContext, DemoProvince
from gongshu.demo.province import entry_rows
from gongshu.egress.verify import Checker
from gongshu.errors import GongshuError
from gongshu.identifiers import id_check_char
from gongshu.privacy import consent, notices, service
from gongshu.privacy.person import age_on, person_hash
from gongshu.timeutil import BEIJING, utcnow


def _demo_id(province: DemoProvince, *, seed: int, limit: int | None) -> str | None:
    """A resident ID that the demo data holds: generated again here (nothing is read)."""
    for spec in province.entries:
        ids = [f.name for f in spec.fields if f.kind == "resident_id"]
        if not (spec.approved and ids):
            continue
        for batch in entry_rows(spec, seed=seed, limit=min(limit or 50, 50), batch_rows=50):
            today = utcnow().astimezone(BEIJING).date()
            adults = [v for v in batch.column(ids[0]).to_pylist() if v and age_on(v, today) >= 18]
            if adults:
                return str(adults[0])
    return None


def seed_demo(
    session: Session,
    province: DemoProvince,
    settings: Settings,
    *,
    seed: int,
    limit: int | None = None,
) -> None:
    """The demo's member of the public becomes a person found in the data, with consents
    to two organizations (one separate, one withdrawn, one for a child) and an open
    request to see their data."""
    user = session.scalar(
        select(User).where(User.org_id.is_(None), User.identity_verified_at.is_not(None))
    )
    number = _demo_id(province, seed=seed, limit=limit)
    orgs = list(session.scalars(select(Organization).where(Organization.kind == "agency").limit(2)))
    if user is None or number is None or not orgs:
        return
    secret = settings.secret_key
    user.id_number_hash = person_hash(number, secret)
    session.flush()
    today = utcnow().astimezone(BEIJING).date()
    first = orgs[0]
    second = orgs[-1]
    notices.publish(
        session,
        first,
        {
            "functions": [
                {"function": "社会保障业务办理", "kinds": ["PERSON_NAME", "CN_MOBILE", "ADDRESS"]},
                {"function": "医疗救助审核", "kinds": ["MEDICAL"]},
                {"function": "少儿医保参保", "kinds": ["PERSON_NAME", "BIRTH_DATE"]},
            ],
            "retention": "业务办结后保存 5 年，期满删除或匿名化",
            "rights_channels": "公共数据平台“我的个人信息”页面在线申请，或到办事窗口书面申请",
            "third_party_code": "未嵌入第三方代码",
            "third_parties": "依法向公安、民政部门核验身份和户籍信息",
            "risks": "存在泄露风险；采取加密存储、访问控制、脱敏和审计账本",
            "complaints": "12345 政务服务便民热线",
            "officer_contact": "个人信息保护负责人：办公室主任，电话 0791-00000000",
        },
        actor="demo",
    )
    consent.give(
        session,
        org=first,
        id_number=number,
        purpose="办理社会保障业务",
        method="收集、存储、核对",
        data_kinds=["PERSON_NAME", "CN_MOBILE", "ADDRESS"],
        on=today - timedelta(days=40),
        evidence="窗口办理时签署《个人信息处理告知同意书》",
        secret=secret,
        actor="demo",
    )
    consent.give(
        session,
        org=first,
        id_number=number,
        purpose="办理社会保障业务",
        method="收集、存储、核对",
        data_kinds=["MEDICAL"],
        on=today - timedelta(days=40),
        evidence="单独签署医疗健康信息处理同意书",
        secret=secret,
        actor="demo",
    )
    marketing = consent.give(
        session,
        org=second,
        id_number=number,
        purpose="推送政务服务消息",
        method="存储、使用",
        data_kinds=["CN_MOBILE"],
        on=today - timedelta(days=20),
        evidence="政务服务应用内勾选同意",
        secret=secret,
        actor="demo",
    )
    consent.withdraw(
        session, marketing.id, on=today - timedelta(days=3), actor=user, reason="本人撤回"
    )
    child = "36010220200601001"
    consent.give(
        session,
        org=first,
        id_number=child + id_check_char(child),
        purpose="办理少儿医保参保",
        method="收集、存储",
        data_kinds=["PERSON_NAME", "BIRTH_DATE"],
        on=today - timedelta(days=10),
        guardian_id_number=number,
        evidence="监护人现场签署同意书",
        secret=secret,
        actor="demo",
    )
    # The person asks for a code, reads it on their phone (the outbox, kept too) and
    # files the request with it: the real flow, through the door's verification.
    phone = _Phone()
    try:
        service.request_code(
            session,
            user=user,
            id_number=number,
            checker=Checker.from_settings(settings),
            secret=secret,
            notifier=phone,
            caller="demo",
        )
    except GongshuError:
        return  # no register loaded, or no mobile on record: no request to show
    service.file_request(
        session,
        user=user,
        kind="access",
        id_number=number,
        code=phone.code,
        details="请告知平台上保存的本人信息",
        secret=secret,
        datasets_dir=settings.datasets_dir,
    )


class _Phone:
    """The demo person's phone: the message goes to the outbox as usual and the
    person reads the code from it."""

    code = ""

    def send(self, session: Session, *, to: str, text: str, purpose: str) -> None:
        OutboxNotifier().send(session, to=to, text=text, purpose=purpose)
        self.code = re.search(r"\d{6}", text).group(0)


def seed(session: Session, demo: DemoContext) -> None:
    """The registry's demo seed (``Capability.demo``)."""
    seed_demo(session, demo.province, demo.settings, seed=demo.seed, limit=demo.limit)
