"""Authorized operation: agreements (OPR-1..3), expiry and disposal. Sandbox runs
(OPR-4) are in ``runs``, product entries in ``products``.

The data authority authorizes an operator organization by an agreement with
the OPR-2 fields; each entry in scope gets a grant (source "operation")
through ``egress.create_grant``. The operator queries those entries in the
sandbox; a passed result becomes a product catalog entry (scope "product")
that leaves only through the egress door. Takes a Session, flushes, never commits.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts import jurisdiction
from gongshu.accounts.models import Organization, User
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.datasets.anonymized import DIRECT_IDENTIFIERS, SENSITIVE_ATTRIBUTES
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.egress.policies import get_policy, plan
from gongshu.egress.versions import column_tags, personal_columns
from gongshu.errors import InvalidField
from gongshu.instruments import parties
from gongshu.instruments import service as instruments
from gongshu.instruments.errors import InstrumentRequired
from gongshu.instruments.models import Instrument
from gongshu.ledger import record
from gongshu.operation.errors import (
    AgreementNotFound,
    NotAuthority,
    NotOperable,
    NotOperator,
    WrongStatus,
)
from gongshu.operation.models import AgreementItem, OperatorAgreement
from gongshu.timeutil import as_utc, utcnow

# OPR-3 per-person consent: the licence of an entry with personal information rests on
# each person's consent record; the gate privacy.operation keeps back the others' rows.
PER_PERSON = "个人同意记录：仅使用已同意向本运营机构提供其个人信息的个人的记录"
DEFAULT_POLICY = "share-unconditional"  # identity numbers become per-operator pseudonyms
MAX_TERM_DAYS = 3650
REQUIRED = {
    "title": "协议名称",
    "revenue_method": "合理收益计算方法",
    "security_requirements": "数据安全要求",
    "disposal": "到期处置方式",
}


def _subject(agreement: OperatorAgreement) -> str:
    return f"operator:{agreement.operator_org_id}"


def _require_authority(actor: User) -> Organization:
    org = actor.org
    if "admin" not in actor.roles and (org is None or org.kind != "data_authority"):
        raise NotAuthority("只有数据管理部门可以授权运营")
    return org


# ---------------------------------------------------------------- agreements


def store_report(data: bytes, filename: str, *, data_dir: Path) -> tuple[str, str]:
    """Keep the security risk assessment report under the data dir (OPR-2, SEC-6).

    Written to a temporary name and renamed, like loads; returns (relative path, sha256).
    """
    if not data:
        raise InvalidField("必须上传安全风险评估报告", field="risk_report")
    digest = hashlib.sha256(data).hexdigest()
    suffix = Path(filename or "report").suffix.lower()[:8] or ".bin"
    rel = Path("operation") / "reports" / f"{digest[:16]}-{uuid.uuid4().hex[:8]}{suffix}"
    storage.write_file([data], data_dir / rel, root=data_dir / rel.parts[0])
    return rel.as_posix(), digest


def operability(
    session: Session,
    entry: CatalogEntry,
    policy: str,
    consent: object = None,
    *,
    operator_org_id: int | None = None,
    basis: str | None = None,
) -> tuple[str, str]:
    """(basis, reason) an entry may be operated on, or NotOperable with the reason (OPR-3).

    Open entries may be operated. A not-open entry only if the grant's policy
    desensitizes every personal identifier and special category in its stored
    data, or it rests on the rights holders' consent:

    - An entry with personal information: the rights holders are the persons
      themselves, so ``basis="consent"`` licenses it on per-person consent, and the
      gate ``privacy.operation`` keeps back, at every read, the rows of persons with
      no consent to this operator on record. Nothing names that consent here: a
      typed text or a provider's authorization (``consent``) is refused.
    - An entry without personal information (trade secrets of an enterprise rights
      holder): ``consent`` names the holder's authorization on record
      (``gongshu.instruments``, kind ``holder_authorization``, issued by the entry's
      provider for operation by this operator, valid and not revoked). Typed text is
      refused: it is not a record.
    """
    if entry.published_version is None or entry.scope != "public":
        raise NotOperable(f"「{entry.name}」不是已发布的公共数据目录，不能授权运营")
    if basis not in (None, "", "consent"):
        raise InvalidField(
            "授权范围中的授权依据填写有误：只能注明依据同意，或不填", field="entries"
        )
    if entry.opening_attr != "none":
        return "open", "开放目录"
    version = storage.newest(session, entry.id)
    typed = consent is not None and str(consent).strip()
    if typed or basis == "consent":
        personal = personal_columns(session, entry, version)
        if personal:
            if typed:
                raise NotOperable(
                    f"「{entry.name}」含个人信息，其权利人是信息所属的个人：填写的文字或"
                    "提供单位出具的授权文书都不能代替授权记录，须以个人本人的同意记录为依据"
                    "（授权范围中注明依据同意，不填授权记录编号），运营时只使用已同意者的记录"
                )
            return "consent", PER_PERSON
        if version is None or version.column_tags is None:
            raise NotOperable(
                f"「{entry.name}」尚无已识别的数据，无法确认不含个人信息；"
                "须识别后再依据权利人授权记录运营"
            )
        if not typed:
            raise NotOperable(
                f"「{entry.name}」不含个人信息，依据权利人同意运营须填写权利人授权记录编号"
            )
        item = consent_instrument(session, entry, consent, operator_org_id)
        return "consent", f"权利人授权记录第 {item.id} 号：{item.title}"
    if version is None or version.column_tags is None:
        raise NotOperable(
            f"「{entry.name}」不予开放，且尚无已识别的数据，无法确认已脱敏；须脱敏或取得权利人同意"
        )
    rules = get_policy(session, policy).rules
    tags = column_tags(entry, version)
    actions = plan([c["name"] for c in version.columns], tags, rules)
    clear = [
        a.column
        for a in actions
        if set(a.tags) & (DIRECT_IDENTIFIERS | SENSITIVE_ATTRIBUTES) and a.rule["op"] == "keep"
    ]
    if clear:
        raise NotOperable(
            f"「{entry.name}」不予开放，按脱敏策略 {policy} 以下字段未脱敏：{'、'.join(clear)}；"
            "不予开放的数据须脱敏或取得权利人同意后方可运营"
        )
    return "desensitized", f"不予开放，按策略 {policy} 脱敏后运营"


def consent_instrument(
    session: Session, entry: CatalogEntry, reference: object, operator_org_id: int | None
) -> Instrument:
    """The rights holder's authorization on record that ``reference`` names, covering
    operation of ``entry`` by the operator now; NotOperable otherwise (fail closed)."""
    try:
        return instruments.require(
            session,
            "holder_authorization",
            entry_id=entry.id,
            purpose="operation",
            recipient_org_id=operator_org_id,
            instrument_id=reference,
            what=f"不予开放的目录「{entry.name}」",
        )
    except InstrumentRequired as exc:
        raise NotOperable(exc.message, detail=exc.detail) from exc


def authorize(
    session: Session,
    *,
    actor: User,
    operator_org_id: int,
    title: str,
    entries: list[dict],
    term_days: int,
    revenue_method: str,
    security_requirements: str,
    disposal: str,
    report_name: str,
    report_path: str,
    report_sha256: str,
    starts_at: datetime | None = None,
) -> OperatorAgreement:
    """The data authority authorizes an operator by agreement (OPR-1, OPR-2, OPR-3).

    ``entries``: ``[{"entry_id", "policy"?, "columns"?, "basis"?, "consent"?}]``
    (``basis: "consent"`` without ``consent`` for per-person consent). Every entry
    is checked before anything is written; one that may not be operated stops the
    whole agreement with its reason.
    """
    authority = _require_authority(actor)
    operator = session.get(Organization, operator_org_id)
    if operator is None or operator.kind != "operator":
        raise InvalidField("被授权单位必须是授权运营机构", field="operator_org_id")
    texts = {
        "title": title,
        "revenue_method": revenue_method,
        "security_requirements": security_requirements,
        "disposal": disposal,
    }
    problems = {
        k: f"授权运营协议必须写明{label}"
        for k, label in REQUIRED.items()
        if not (texts[k] or "").strip()
    }
    if not report_path or not report_sha256:
        problems["risk_report"] = "必须上传安全风险评估报告"
    if not isinstance(term_days, int) or not 1 <= term_days <= MAX_TERM_DAYS:
        problems["term_days"] = f"授权期限须在 1 至 {MAX_TERM_DAYS} 天之间"
    if not entries:
        problems["entries"] = "授权范围至少包含一个数据目录"
    if problems:
        raise InvalidField.of(problems)
    checked = []
    for item in entries:
        entry = catalog.get(session, int(item["entry_id"]))
        jurisdiction.require(
            session,
            actor,
            entry.region_code,
            reach=jurisdiction.AREA,
            action="授权运营",
            what=f"数据目录「{entry.name}」",
            law="OPR-1",
        )
        policy = item.get("policy") or DEFAULT_POLICY
        consent = item.get("consent")
        basis, reason = operability(
            session,
            entry,
            policy,
            consent,
            operator_org_id=operator.id,
            basis=item.get("basis"),
        )
        reference = str(consent).strip() if basis == "consent" and reason != PER_PERSON else None
        checked.append((entry, policy, item.get("columns") or None, basis, reference))
    parties.require_cleared(session, operator, action="获得授权运营")  # SEC-13, before writing
    start = as_utc(starts_at) if starts_at else utcnow()
    agreement = OperatorAgreement(
        operator_org_id=operator.id,
        authority_org_id=authority.id if authority else operator.id,
        title=title.strip(),
        starts_at=start,
        ends_at=start + timedelta(days=term_days),
        risk_report_name=(report_name or "report")[:255],
        risk_report_path=report_path,
        risk_report_sha256=report_sha256,
        status="active",
        created_by=actor.actor,
        **{k: v.strip() for k, v in texts.items() if k != "title"},
    )
    session.add(agreement)
    session.flush()
    for entry, policy, columns, basis, instrument in checked:
        grant = egress.create_grant(
            session,
            entry,
            recipient_org_id=operator.id,
            purpose=f"授权运营：{agreement.title}（仅在平台沙箱内使用）",
            source="operation",
            actor=actor,
            days=term_days,
            policy=policy,
            columns=columns,
            source_ref=f"agreement:{agreement.id}",
        )
        session.add(
            AgreementItem(
                agreement_id=agreement.id,
                entry_id=entry.id,
                policy=policy,
                columns=columns,
                basis=basis,
                consent=(
                    f"授权记录第 {instrument} 号"
                    if instrument
                    else (PER_PERSON if basis == "consent" else None)
                ),
                instrument_id=int(instrument) if instrument else None,
                grant_id=grant.id,
            )
        )
    session.flush()
    session.refresh(agreement)
    record(
        session,
        "operation.authorized",
        actor=actor.actor,
        subject=_subject(agreement),
        payload={
            "agreement": agreement.id,
            "operator_org": operator.id,
            "entries": [
                {"entry": i.entry_id, "policy": i.policy, "basis": i.basis, "grant": i.grant_id}
                for i in agreement.items
            ],
            "term": [agreement.starts_at, agreement.ends_at],
            "risk_report_sha256": report_sha256,
        },
    )
    return agreement


def get(session: Session, agreement_id: int) -> OperatorAgreement:
    agreement = session.get(OperatorAgreement, agreement_id)
    if agreement is None:
        raise AgreementNotFound(f"授权运营协议不存在：{agreement_id}")
    return agreement


def get_visible(session: Session, agreement_id: int, actor: User) -> OperatorAgreement:
    agreement = get(session, agreement_id)
    if not can_view(agreement, actor):
        raise AgreementNotFound(f"授权运营协议不存在：{agreement_id}")
    return agreement


def can_view(agreement: OperatorAgreement, actor: User) -> bool:
    if "admin" in actor.roles or actor.org_id == agreement.operator_org_id:
        return True
    return actor.org is not None and actor.org.kind == "data_authority"


def agreements(session: Session, actor: User) -> list[OperatorAgreement]:
    """The operator's own agreements; every agreement for the data authority."""
    stmt = select(OperatorAgreement).order_by(OperatorAgreement.created_at.desc())
    if "admin" not in actor.roles and (actor.org is None or actor.org.kind != "data_authority"):
        stmt = stmt.where(OperatorAgreement.operator_org_id == (actor.org_id or -1))
    return list(session.scalars(stmt).unique())


def expire_due(session: Session, *, now: datetime | None = None) -> list[OperatorAgreement]:
    """Agreements past their term stop: status expired, grants revoked (OPR-2)."""
    now = now or utcnow()
    due = session.scalars(
        select(OperatorAgreement).where(
            OperatorAgreement.status == "active", OperatorAgreement.ends_at <= now
        )
    ).unique()
    out = []
    for agreement in due:
        agreement.status, agreement.expired_at = "expired", now
        for item in agreement.items:
            grant = session.get(Grant, item.grant_id)
            if grant.revoked_at is None:
                grant.revoked_at, grant.revoke_reason = now, "授权运营协议到期"
        session.flush()
        record(
            session,
            "operation.expired",
            actor="system",
            subject=_subject(agreement),
            payload={"agreement": agreement.id, "grants": [i.grant_id for i in agreement.items]},
        )
        out.append(agreement)
    return out


def confirm_disposal(
    session: Session, agreement_id: int, *, actor: User, note: str
) -> OperatorAgreement:
    """The operator confirms disposal at expiry as the agreement says (OPR-2)."""
    agreement = get(session, agreement_id)
    if "admin" not in actor.roles and actor.org_id != agreement.operator_org_id:
        raise NotOperator("只有被授权的运营机构可以确认到期处置")
    if agreement.status != "expired":
        raise WrongStatus("协议到期后方可确认处置")
    if not (note or "").strip():
        raise InvalidField("请说明处置情况", field="note")
    agreement.status = "disposed"
    agreement.disposal_confirmed_at = utcnow()
    agreement.disposal_confirmed_by = actor.actor
    agreement.disposal_note = note.strip()
    session.flush()
    record(
        session,
        "operation.disposal_confirmed",
        actor=actor.actor,
        subject=_subject(agreement),
        payload={"agreement": agreement.id, "note": agreement.disposal_note},
    )
    return agreement
