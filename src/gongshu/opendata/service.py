"""Open-data workflows: a declared use for unconditional-open data (OPN-2), an
application for conditional-open data answered by the provider (OPN-3, SHR-4); an
approval drafts the open-use agreement, which ``agreements`` takes from there (signing,
disposal, feedback: OPN-4; breach records: OPN-5).

Every state change is recorded in the ledger in the caller's transaction; data
is only ever read through the grants created here, at the egress door.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.accounts.service import require_verified
from gongshu.catalog.models import CatalogEntry
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.ledger.service import canonical_json
from gongshu.opendata.clocks import OPEN_ANSWER
from gongshu.opendata.entries import get_open
from gongshu.opendata.errors import (
    AlreadyAnswered,
    ApplicationNotFound,
    BadAnswer,
    NotProvider,
    WrongOpeningAttr,
)
from gongshu.opendata.models import (
    OpenAgreement,
    OpenApplication,
    OpenUseDeclaration,
)
from gongshu.protect.crypto import sm3
from gongshu.timeutil import as_utc, beijing_month, last_months, utcnow
from gongshu.workdays import lifecycle

DEFAULT_TERM_DAYS = 365
MAX_TERM_DAYS = 3 * 365


def required_text(value: str | None, what: str, field: str = "") -> str:
    """The text stripped; empty is refused naming ``what`` (and the form ``field``)."""
    if not value or not value.strip():
        if field:
            raise InvalidField(f"请填写{what}", field=field)
        raise InvalidInput(f"请填写{what}")
    return value.strip()


# Built once: every datastore_search asks it.
_OPEN_GRANTS = (
    select(Grant)
    .where(
        Grant.entry_id == bindparam("entry"),
        Grant.recipient_user_id == bindparam("user"),
        Grant.source == "open",
        Grant.revoked_at.is_(None),
    )
    .order_by(Grant.created_at.desc(), Grant.id.desc())
)


def active_grant(session: Session, entry_id: int, user: User) -> Grant | None:
    """The user's newest open grant on the entry that is neither revoked nor expired."""
    return first_unexpired(open_grants(session, entry_id, user.id))


def open_grants(session: Session, entry_id: int, user_id: int) -> list[Grant]:
    """The user's unrevoked open grants on the entry, newest first, expired or not."""
    return list(session.scalars(_OPEN_GRANTS, {"entry": entry_id, "user": user_id}))


def first_unexpired(grants: list[Grant]) -> Grant | None:
    now = utcnow()
    return next((g for g in grants if as_utc(g.expires_at) > now), None)


# ---------------------------------------------------------------- OPN-2


def declaration_of(session: Session, entry_id: int, user: User) -> OpenUseDeclaration | None:
    return session.scalar(
        select(OpenUseDeclaration).where(
            OpenUseDeclaration.entry_id == entry_id, OpenUseDeclaration.user_id == user.id
        )
    )


def declare_use(
    session: Session,
    entry_id: int,
    *,
    actor: User,
    use: str,
    scenario: str,
    declared_at: datetime | None = None,
) -> OpenUseDeclaration:
    """OPN-2: a signed-in user declares the use of unconditional-open data once per entry
    and gets an open grant for it. Declaring again returns the existing declaration.
    ``declared_at`` defaults to now (another moment only where a history is replayed)."""
    require_verified(actor)
    entry = get_open(session, entry_id)
    if entry.opening_attr != "unconditional":
        raise WrongOpeningAttr("该目录为有条件开放，需要提交开放申请并签署协议")
    problems = {
        name: f"请填写{what}"
        for name, what, value in (("use", "数据用途", use), ("scenario", "应用场景", scenario))
        if not (value or "").strip()
    }
    if problems:
        raise InvalidField.of(problems)
    use, scenario = use.strip(), scenario.strip()
    existing = declaration_of(session, entry.id, actor)
    if existing is not None:
        return existing
    grant = egress.create_grant(
        session,
        entry,
        recipient_user=actor,
        purpose=f"{use}；场景：{scenario}",
        source="open",
        policy="open",
        actor=actor,
    )
    declaration = OpenUseDeclaration(
        entry_id=entry.id,
        user_id=actor.id,
        use=use,
        scenario=scenario,
        grant_id=grant.id,
        created_at=as_utc(declared_at) if declared_at else utcnow(),
    )
    session.add(declaration)
    session.flush()
    grant.source_ref = f"open-declaration:{declaration.id}"
    record(
        session,
        "open.use_declared",
        actor=actor.actor,
        subject=f"entry:{entry.id}",
        payload={
            "declaration": declaration.id,
            "grant": grant.id,
            "use": use,
            "scenario": scenario,
        },
    )
    return declaration


# ---------------------------------------------------------------- OPN-3


def apply(
    session: Session,
    entry_id: int,
    *,
    actor: User,
    use: str,
    scenario: str,
    security_measures: str,
    fields: list[str] | None = None,
    term_days: int = DEFAULT_TERM_DAYS,
    received_at: datetime | None = None,
) -> OpenApplication:
    """OPN-3: apply for conditional-open data with use, scenario, security measures,
    requested fields and term; the provider answers as in SHR-4, within 10 working
    days of receipt (``clocks.OPEN_ANSWER``; ``received_at`` defaults to now)."""
    require_verified(actor)
    entry = get_open(session, entry_id)
    if entry.opening_attr != "conditional":
        raise WrongOpeningAttr("该目录为无条件开放，声明用途后即可获取")
    known = [f["name"] for f in entry.fields]
    fields = [f for f in fields or [] if f] or None
    unknown = [f for f in fields or [] if f not in known]
    # Every problem of the form at once, each beside its field (issue 17 item 6).
    problems = {
        name: f"请填写{what}"
        for name, what, value in (
            ("use", "数据用途", use),
            ("scenario", "应用场景", scenario),
            ("security_measures", "安全保护措施", security_measures),
        )
        if not (value or "").strip()
    }
    if not 1 <= int(term_days) <= MAX_TERM_DAYS:
        problems["term_days"] = f"使用期限须在 1 至 {MAX_TERM_DAYS} 天之间"
    if unknown:
        problems["fields"] = f"申请的字段不在目录中：{'、'.join(unknown)}"
    if problems:
        raise InvalidField.of(problems)
    application = OpenApplication(
        entry_id=entry.id,
        user_id=actor.id,
        use=use.strip(),
        scenario=scenario.strip(),
        security_measures=security_measures.strip(),
        fields=fields,
        term_days=int(term_days),
        status="pending",
        created_at=as_utc(received_at) if received_at else utcnow(),
    )
    lifecycle.start_clock(session, OPEN_ANSWER, application)
    session.add(application)
    session.flush()
    record(
        session,
        "open.applied",
        actor=actor.actor,
        subject=f"entry:{entry.id}",
        payload={
            "application": application.id,
            "use": application.use,
            "fields": fields,
            "received_at": application.created_at,
            "deadline": application.deadline,
            "deadline_warning": application.deadline_warning,
        },
    )
    return application


def get_application(session: Session, application_id: int) -> OpenApplication:
    application = session.get(OpenApplication, application_id)
    if application is None:
        raise ApplicationNotFound(f"开放申请不存在：{application_id}")
    return application


def require_provider(entry: CatalogEntry, actor: User) -> None:
    if "admin" not in actor.roles and actor.org_id != entry.provider_org_id:
        raise NotProvider("只有数据提供单位可以答复开放申请")


def inbox(session: Session, actor: User) -> list[OpenApplication]:
    """Applications to the actor's agency (all of them for an administrator), and those
    referred to the actor's data authority (SHR-4); the ones to act on first, by deadline."""
    stmt = select(OpenApplication).join(CatalogEntry, OpenApplication.entry_id == CatalogEntry.id)
    if "admin" not in actor.roles:
        mine = CatalogEntry.provider_org_id == actor.org_id
        org = actor.org
        if org is not None and org.kind == "data_authority":
            mine = mine | (
                (OpenApplication.status == "referred")
                & (OpenApplication.referred_region_code == org.region_code)
            )
        stmt = stmt.where(mine)
    stmt = stmt.order_by(
        OpenApplication.status.not_in(("pending", "referred")),
        OpenApplication.deadline,
        OpenApplication.created_at.desc(),
    )
    return list(session.scalars(stmt))


def applications_of(session: Session, user: User) -> list[OpenApplication]:
    stmt = select(OpenApplication).where(OpenApplication.user_id == user.id)
    return list(session.scalars(stmt.order_by(OpenApplication.created_at.desc())))


def answer(
    session: Session,
    application_id: int,
    *,
    actor: User,
    approve: bool,
    reason: str = "",
    legal_basis: str = "",
    conditions: str = "",
    now: datetime | None = None,
) -> OpenApplication:
    """SHR-4 as applied by OPN-3: approve (with conditions) or refuse with reasons and
    legal basis. The provider answers a pending application; the data authority it was
    referred to decides a referred one. Approval drafts the open-use agreement."""
    application = get_application(session, application_id)
    entry = get_open(session, application.entry_id)
    role = _answerer(application, entry, actor)
    if not approve:
        problems = {
            name: f"不予开放须说明{what}"
            for name, what, value in (
                ("reason", "理由", reason),
                ("legal_basis", "法律依据", legal_basis),
            )
            if not value.strip()
        }
        if problems:
            raise BadAnswer.of(problems)
    now = as_utc(now) if now else utcnow()  # another moment only where a history is replayed
    application.status = "approved" if approve else "refused"
    application.answer_reason = reason.strip() or None
    application.legal_basis = legal_basis.strip() or None
    application.conditions = conditions.strip() or None
    if role == "provider":
        application.answered_by, application.answered_at = actor.actor, now
    else:
        application.decided_by, application.decided_at = actor.actor, now
    session.flush()
    agreement = _draft_agreement(session, application, entry, actor) if approve else None
    record(
        session,
        "open.approved" if approve else "open.refused",
        actor=actor.actor,
        subject=f"open-application:{application.id}",
        payload={
            "entry": entry.id,
            "reason": application.answer_reason,
            "legal_basis": application.legal_basis,
            "conditions": application.conditions,
            "agreement": agreement.id if agreement else None,
            "by": role,
            "late": None if role != "provider" else _late(application, now),
        },
    )
    return application


def _answerer(application: OpenApplication, entry: CatalogEntry, actor: User) -> str:
    """Who may act now: the provider while pending, the data authority of the
    provider's tier once referred (SHR-4)."""
    if application.status == "pending":
        require_provider(entry, actor)
        return "provider"
    if application.status == "referred":
        org = actor.org
        if (
            org is None
            or org.kind != "data_authority"
            or not ({"reviewer", "admin"} & set(actor.roles))
            or org.region_code != application.referred_region_code
        ):
            raise NotProvider("该申请已报数据提供单位同级的数据管理部门，由其决定")
        return "authority"
    raise AlreadyAnswered("该申请已答复")


def refer(session: Session, application_id: int, *, actor: User, note: str) -> OpenApplication:
    """The provider, unsure whether the data may be opened to this applicant, reports
    to the data authority of its own tier to decide (SHR-4, applied by OPN-3). The
    provider's clock stops with the referral; the authority decides by ``answer``."""
    application = get_application(session, application_id)
    entry = get_open(session, application.entry_id)
    if _answerer(application, entry, actor) != "provider":
        raise AlreadyAnswered("该申请已报数据管理部门")
    note = required_text(note, "不能确定能否开放的原因", "note")
    now = utcnow()
    application.status = "referred"
    application.referred_region_code = entry.provider.region_code
    application.referred_at, application.referral_note = now, note
    application.answered_by, application.answered_at = actor.actor, now
    session.flush()
    record(
        session,
        "open.referred",
        actor=actor.actor,
        subject=f"open-application:{application.id}",
        payload={
            "entry": entry.id,
            "region": application.referred_region_code,
            "note": note,
            "late": _late(application, now),
        },
    )
    return application


def _late(application: OpenApplication, now: datetime) -> bool | None:
    return lifecycle.on_time(application.deadline, now) is False if application.deadline else None


# ---------------------------------------------------------------- OPN-4


def _draft_agreement(
    session: Session, application: OpenApplication, entry: CatalogEntry, provider: User
) -> OpenAgreement:
    user = session.get(User, application.user_id)
    terms = {
        "parties": {
            "provider": entry.provider.name,
            "provider_approved_by": provider.actor,
            "user": user.display_name,
            "user_account": user.actor,
            "user_org": user.org.name if user.org else None,
        },
        "data": {
            "entry": entry.id,
            "resource_code": entry.resource_code,
            "name": entry.name,
            "fields": application.fields or [f["name"] for f in entry.fields],
        },
        "use": application.use,
        "scenario": application.scenario,
        "security_measures": application.security_measures,
        "conditions": application.conditions,
        "term_days": application.term_days,
        "disposal": "期限届满后，使用方应删除或销毁所获数据及其副本，并在平台确认处置",
        "feedback": "使用方应按约定向平台反馈数据使用情况和效果",
        "duties": "使用方应在协议范围内使用数据，不得超出用途和场景，不得转让；"
        "违反协议的，责令限期改正",
    }
    body = canonical_json(terms).encode()
    agreement = OpenAgreement(
        application_id=application.id,
        entry_id=entry.id,
        user_id=application.user_id,
        terms=terms,
        sha256=hashlib.sha256(body).hexdigest(),
        sm3=sm3(body).hex(),
    )
    session.add(agreement)
    session.flush()
    return agreement


# ---------------------------------------------------------------- use, month by month


def usage_by_month(
    session: Session, *, region_prefix: str = "", now: datetime | None = None, months: int = 12
) -> dict:
    """How open data was used, per Beijing month, for entries in an area (codes starting
    with ``region_prefix``): use declarations (OPN-2), files taken under open grants,
    conditional-open applications received, and those approved and refused (OPN-3)."""
    from gongshu.egress.models import Delivery

    labels = last_months(now or utcnow(), months)
    index = {m: i for i, m in enumerate(labels)}
    series = {k: [0] * months for k in ("declared", "downloads", "applied", "approved", "refused")}

    def count(key: str, moments) -> None:  # noqa: ANN001
        for moment in moments:
            i = index.get(beijing_month(moment)) if moment else None
            if i is not None:
                series[key][i] += 1

    in_area = CatalogEntry.region_code.startswith(region_prefix)
    count(
        "declared",
        session.scalars(
            select(OpenUseDeclaration.created_at)
            .join(CatalogEntry, CatalogEntry.id == OpenUseDeclaration.entry_id)
            .where(in_area)
        ),
    )
    count(
        "downloads",
        session.scalars(
            select(Delivery.created_at)
            .join(Grant, Grant.id == Delivery.grant_id)
            .join(CatalogEntry, CatalogEntry.id == Delivery.entry_id)
            .where(Grant.source == "open", in_area)
        ),
    )
    apps = session.execute(
        select(
            OpenApplication.created_at,
            OpenApplication.status,
            OpenApplication.answered_at,
            OpenApplication.decided_at,
        )
        .join(CatalogEntry, CatalogEntry.id == OpenApplication.entry_id)
        .where(in_area)
    ).all()
    count("applied", (a.created_at for a in apps))
    count("approved", (a.answered_at or a.decided_at for a in apps if a.status == "approved"))
    count("refused", (a.answered_at or a.decided_at for a in apps if a.status == "refused"))
    return {"months": labels, **series}
