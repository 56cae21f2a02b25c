"""Consent records: given, withdrawn, and the question "is there valid consent for X".

PIP-1: consent for processing; a separate consent for each sensitive kind; the
consent of a parent or guardian for a child under 14 (age from the ID number on
the date the consent takes effect). PIP-3: every action is recorded and a change
of purpose, method or kind needs new consent. PIP-4: withdrawal is a new record,
confirmed, with the 15-day deletion or anonymization follow-up as a due date.
SEC-7: records are kept at least 5 years.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.discovery.rules_store import rules_in_force
from gongshu.entities import ENTITY_LABELS
from gongshu.ledger import record
from gongshu.privacy.errors import BadConsent, ConsentNotFound, GuardianRequired, NotThePerson
from gongshu.privacy.models import ConsentRecord
from gongshu.privacy.person import age_on, person_hash

RETENTION_YEARS = 5  # SEC-7
WITHDRAWAL_FOLLOW_UP_DAYS = 15  # PIP-4 commentary: delete or anonymize within 15 days
GUARDIAN_AGE = 14  # PIP-1
ADULT_AGE = 18


def _retain_until(on: date) -> date:
    try:
        return on.replace(year=on.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        return on.replace(year=on.year + RETENTION_YEARS, day=28)


def sensitive_kinds(session: Session, kinds: list[str]) -> list[str]:
    """Which of ``kinds`` the discovery rules in force call sensitive."""
    rules, _ = rules_in_force(session)
    return [k for k in kinds if rules.is_sensitive(k)]


def _check_kinds(kinds: list[str]) -> list[str]:
    clean = sorted(set(kinds or []))
    if not clean:
        raise BadConsent("须列明同意处理的个人信息种类")
    unknown = [k for k in clean if k not in ENTITY_LABELS]
    if unknown:
        raise BadConsent(f"个人信息种类代码无效：{'、'.join(unknown)}")
    return clean


def give(
    session: Session,
    *,
    org: Organization,
    id_number: str,
    purpose: str,
    method: str,
    data_kinds: list[str],
    on: date,
    secret: str,
    actor: str,
    evidence: str = "",
    guardian_id_number: str | None = None,
    abroad_recipient_org_id: int | None = None,
    operator_org_id: int | None = None,
) -> ConsentRecord:
    """Record a consent given to ``org``. A sensitive kind must be consented to on
    its own (one record per sensitive kind, PIP-1); a child under 14 needs an adult
    guardian's consent, named by the guardian's ID number. ``abroad_recipient_org_id``
    makes it the person's separate consent to providing abroad to that recipient (XBR-3);
    ``operator_org_id`` the person's consent to ``org`` providing their information to that
    operator for authorized operation (OPR-3; the gate ``privacy.operation``)."""
    kinds = _check_kinds(data_kinds)
    if abroad_recipient_org_id is not None and operator_org_id is not None:
        raise BadConsent("一条同意记录只能指明一个接收方：出境接收方与授权运营机构须分别记录")
    if not (purpose or "").strip():
        raise BadConsent("须写明处理目的")
    if not (method or "").strip():
        raise BadConsent("须写明处理方式")
    sensitive = sensitive_kinds(session, kinds)
    if sensitive and len(kinds) > 1:
        raise BadConsent(
            "敏感个人信息须逐项单独同意：请将"
            f"{'、'.join(ENTITY_LABELS[k] for k in sensitive)}分别记录，不得与其他种类合并"
        )
    from gongshu.privacy import notices

    notice = notices.current(session, org.id)
    hidden = notices.undeclared(notice, kinds)
    if hidden:
        raise BadConsent(
            f"本单位处理规则（第 {notice.version_no} 版）未列明："
            f"{'、'.join(ENTITY_LABELS[k] for k in hidden)}，须先更新处理规则再取得同意"
        )
    minor = age_on(id_number, on) < GUARDIAN_AGE
    guardian = None
    if minor:
        if not guardian_id_number:
            raise GuardianRequired(
                "未满十四周岁未成年人的个人信息须取得其父母或其他监护人的同意"
                "：请填写监护人身份证号码"
            )
        if age_on(guardian_id_number, on) < ADULT_AGE:
            raise GuardianRequired("监护人须为成年人")
        guardian = person_hash(guardian_id_number, secret)
    rec = ConsentRecord(
        person_hash=person_hash(id_number, secret),
        org_id=org.id,
        action="grant",
        purpose=purpose.strip(),
        method=method.strip(),
        data_kinds=kinds,
        sensitive=bool(sensitive),
        minor_under_14=minor,
        guardian_hash=guardian,
        effective_on=on,
        evidence=(evidence or "").strip(),
        retain_until=_retain_until(on),
        notice_id=notice.id if notice else None,
        abroad_recipient_org_id=_abroad_recipient(session, abroad_recipient_org_id),
        operator_org_id=_operator(session, operator_org_id),
        recorded_by=actor,
    )
    session.add(rec)
    session.flush()
    record(
        session,
        "consent.given",
        actor=actor,
        subject=f"consent:{rec.id}",
        payload={
            "org": org.id,
            "person": rec.person_hash,
            "purpose": rec.purpose,
            "method": rec.method,
            "kinds": kinds,
            "separate": rec.sensitive,
            "guardian": guardian is not None,
            "on": on,
            **(
                {"abroad_recipient": rec.abroad_recipient_org_id}
                if rec.abroad_recipient_org_id
                else {}
            ),
            **({"operator": rec.operator_org_id} if rec.operator_org_id else {}),
        },
    )
    return rec


def _abroad_recipient(session: Session, org_id: int | None) -> int | None:
    """XBR-3: a separate consent for providing abroad names a recipient marked abroad."""
    if org_id is None:
        return None
    from gongshu.compliance.crossborder import foreign_recipient

    if foreign_recipient(session, org_id) is None:
        raise BadConsent("出境单独同意须指明已登记为境外接收方的机构")
    return org_id


def _operator(session: Session, org_id: int | None) -> int | None:
    """OPR-3: a consent to authorized operation names an operator organization."""
    if org_id is None:
        return None
    org = session.get(Organization, org_id)
    if org is None or org.kind != "operator":
        raise BadConsent("授权运营同意须指明已登记的授权运营机构（字段：运营机构）")
    return org_id


def get(session: Session, consent_id: int) -> ConsentRecord:
    rec = session.get(ConsentRecord, consent_id)
    if rec is None or rec.action != "grant":
        raise ConsentNotFound(f"同意记录不存在：{consent_id}")
    return rec


def withdrawal_of(session: Session, consent_id: int) -> ConsentRecord | None:
    return session.scalar(
        select(ConsentRecord).where(
            ConsentRecord.withdraws_id == consent_id, ConsentRecord.action == "withdraw"
        )
    )


def withdraw(
    session: Session, consent_id: int, *, on: date, actor: User, reason: str = ""
) -> ConsentRecord:
    """A withdrawal: a new record, never an edit (PIP-4). Withdrawing twice returns
    the first withdrawal. The data must be deleted or anonymized by ``deletion_due``."""
    given = get(session, consent_id)
    earlier = withdrawal_of(session, consent_id)
    if earlier is not None:
        return earlier
    rec = ConsentRecord(
        person_hash=given.person_hash,
        org_id=given.org_id,
        action="withdraw",
        purpose=given.purpose,
        method=given.method,
        data_kinds=list(given.data_kinds),
        sensitive=given.sensitive,
        minor_under_14=given.minor_under_14,
        guardian_hash=given.guardian_hash,
        effective_on=on,
        evidence=(reason or "").strip(),
        withdraws_id=given.id,
        notice_id=given.notice_id,
        abroad_recipient_org_id=given.abroad_recipient_org_id,
        operator_org_id=given.operator_org_id,
        deletion_due=on + timedelta(days=WITHDRAWAL_FOLLOW_UP_DAYS),
        retain_until=_retain_until(on),
        recorded_by=actor.actor,
    )
    session.add(rec)
    session.flush()
    record(
        session,
        "consent.withdrawn",
        actor=actor.actor,
        subject=f"consent:{given.id}",
        payload={"withdrawal": rec.id, "on": on, "deletion_due": rec.deletion_due},
    )
    from gongshu.privacy.authorize import revoke_for  # PIP-10 grants end with their consent

    revoke_for(session, rec, actor=actor)
    return rec


def withdraw_own(session: Session, consent_id: int, *, user: User, on: date) -> ConsentRecord:
    """The person withdraws through the platform (their verified ID hash must match)."""
    given = get(session, consent_id)
    if not user.id_number_hash or user.id_number_hash not in (
        given.person_hash,
        given.guardian_hash,
    ):
        raise NotThePerson("只能撤回本人（或本人作为监护人）的同意")
    return withdraw(session, consent_id, on=on, actor=user, reason="本人通过平台撤回")


@dataclass
class ConsentAnswer:
    valid: bool
    reasons: list[str] = field(default_factory=list)
    consent_ids: list[int] = field(default_factory=list)


def check(
    session: Session,
    *,
    org_id: int,
    person: str,
    purpose: str,
    method: str,
    data_kinds: list[str],
    on: date,
) -> ConsentAnswer:
    """Is there valid consent, from ``person`` (a hash) to ``org_id``, for this purpose,
    method and each kind, on ``on``? Says why not (PIP-3: a change needs new consent)."""
    kinds = _check_kinds(data_kinds)
    rows = list(
        session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.person_hash == person, ConsentRecord.org_id == org_id)
            .order_by(ConsentRecord.id)
        )
    )
    withdrawn = {r.withdraws_id: r for r in rows if r.action == "withdraw" and r.effective_on <= on}
    given = [r for r in rows if r.action == "grant" and r.effective_on <= on]
    answer = ConsentAnswer(valid=True)
    for kind in kinds:
        label = ENTITY_LABELS[kind]
        of_kind = [r for r in given if kind in r.data_kinds]
        live = [r for r in of_kind if r.id not in withdrawn]
        exact = [r for r in live if r.purpose == purpose.strip() and r.method == method.strip()]
        if exact:
            answer.consent_ids.append(exact[-1].id)
            continue
        answer.valid = False
        if not of_kind:
            answer.reasons.append(f"{label}：无同意记录，须取得同意")
        elif not live:
            w = withdrawn[of_kind[-1].id]
            answer.reasons.append(
                f"{label}：同意已于 {w.effective_on} 撤回，须于 {w.deletion_due} 前删除或匿名化"
            )
        else:
            last = live[-1]
            what = []
            if last.purpose != purpose.strip():
                what.append(f"处理目的由「{last.purpose}」变为「{purpose.strip()}」")
            if last.method != method.strip():
                what.append(f"处理方式由「{last.method}」变为「{method.strip()}」")
            answer.reasons.append(f"{label}：{'；'.join(what)}，须重新取得同意")
    if not answer.valid:
        answer.reasons.append(
            "提示：不得以个人不同意或撤回同意为由拒绝提供产品或服务，"
            "处理个人信息属于提供产品或服务所必需的除外"
        )
    return answer


def of_person(session: Session, person: str) -> list[ConsentRecord]:
    """A person's records, as the person or as a child's guardian, newest first."""
    return list(
        session.scalars(
            select(ConsentRecord)
            .where((ConsentRecord.person_hash == person) | (ConsentRecord.guardian_hash == person))
            .order_by(ConsentRecord.id.desc())
        )
    )


def of_org(
    session: Session, org_id: int, *, person: str | None = None, limit: int = 200
) -> list[ConsentRecord]:
    stmt = select(ConsentRecord).where(ConsentRecord.org_id == org_id)
    if person:
        stmt = stmt.where(ConsentRecord.person_hash == person)
    return list(session.scalars(stmt.order_by(ConsentRecord.id.desc()).limit(limit)))


def withdrawals_due(session: Session, org_id: int | None, on: date) -> list[ConsentRecord]:
    """Withdrawals whose PIP-4 15-day follow-up is due on or before ``on``."""
    stmt = select(ConsentRecord).where(
        ConsentRecord.action == "withdraw", ConsentRecord.deletion_due <= on
    )
    if org_id is not None:
        stmt = stmt.where(ConsentRecord.org_id == org_id)
    return list(session.scalars(stmt.order_by(ConsentRecord.deletion_due)))
