"""Personal-information compliance audits (AUD-1..AUD-8) on the PIA-A framework.

An engagement is self-initiated or regulator-ordered (AUD-2), conducted by an
internal body or a professional institution; an ordered audit is by an
institution and finishes within 90 working days of the notice. One institution
audits one subject at most three times in a row (AUD-5). Per point: uploaded
evidence, live evidence from the platform's records, a result and findings,
rectification items re-reviewed by the institution (AUD-4). The report is signed
by the audit lead and the institution's head with their own SM2 keys (AUD-3,
``signing``); a point "not applicable" needs its reason, and an audit that assessed
nothing (every point not applicable) can be neither signed nor count against AUD-5.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import Organization, User
from gongshu.compliance import evidence, framework
from gongshu.compliance.clocks import ORDERED_AUDIT
from gongshu.compliance.errors import (
    AuditNotFound,
    AuditSigned,
    InstitutionLimit,
    NotYourOrganization,
)
from gongshu.compliance.models import (
    RESULTS,
    AuditEngagement,
    AuditEvidence,
    AuditPointResult,
)
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.timeutil import TimeRefused, as_utc, typed_moment, utcnow
from gongshu.workdays import start_clock

MAX_IN_A_ROW = 3  # AUD-5 (PIA-A art. 12)
LARGE_PROCESSOR = 1_000_000  # AUD-1 (PIA-A art. 4)
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
RESULT_LABELS = {
    "compliant": "符合",
    "partially_compliant": "部分符合",
    "non_compliant": "不符合",
    "not_applicable": "不适用",
}


def _subject(audit: AuditEngagement) -> str:
    return f"audit:{audit.id}"


def substantive(session: Session, audit: AuditEngagement) -> bool:
    """A signed audit that assessed at least one point as more than "not applicable"."""
    if audit.signed_at is None:
        return False
    return (
        session.scalar(
            select(AuditPointResult.id)
            .where(
                AuditPointResult.audit_id == audit.id,
                AuditPointResult.result != "not_applicable",
            )
            .limit(1)
        )
        is not None
    )


def consecutive_by(session: Session, subject_org_id: int, institution_org_id: int) -> int:
    """How many of the subject's latest audits in a row this institution conducted (AUD-5).

    Every engagement of this institution counts, signed or not. Only a substantive audit
    (signed, with at least one point assessed as more than "not applicable") by another
    conductor ends the run: an empty engagement opened in between cannot reset it."""
    audits = session.scalars(
        select(AuditEngagement)
        .where(AuditEngagement.subject_org_id == subject_org_id)
        .order_by(AuditEngagement.started_at.desc(), AuditEngagement.id.desc())
    ).all()
    n = 0
    for a in audits:
        if a.institution_org_id == institution_org_id:
            n += 1
        elif substantive(session, a):
            break
    return n


def create(
    session: Session,
    *,
    actor: User,
    subject_org_id: int,
    trigger: str,
    conductor: str,
    lead_name: str,
    institution_org_id: int | None = None,
    institution_head: str | None = None,
    scope: str = "",
    notified_at: dt.datetime | None = None,
    started_at: dt.datetime | None = None,
) -> AuditEngagement:
    """Open an engagement; refuses a fourth audit in a row by one institution (AUD-5)."""
    subject = session.get(Organization, subject_org_id)
    if subject is None:
        raise InvalidField(f"被审计单位不存在：{subject_org_id}", field="subject_org_id")
    ordered_by = None
    if actor.org_id != subject_org_id and "admin" not in actor.roles:
        if trigger != "ordered" or actor.org is None or actor.org.kind != "regulator":
            raise NotYourOrganization("只能为本单位发起合规审计")
        # A regulator orders the audit of an organization in its region (AUD-2): its
        # order is the notice.
        jurisdiction.require(
            session,
            actor,
            subject.region_code,
            reach=jurisdiction.AREA,
            action="责令",
            what=f"单位（{subject.name}）开展合规审计",
            law="AUD-2",
        )
        notified_at = notified_at or utcnow()
        ordered_by = actor.org_id
    # Every problem of the form at once, each by its field (issue 17 item 6).
    problems: dict[str, str] = {}
    if trigger not in ("self", "ordered"):
        problems["trigger"] = "审计发起方式应为自行开展或按监管要求"
    if conductor not in ("internal", "institution"):
        problems["conductor"] = "审计实施方应为内部机构或专业机构"
    elif trigger == "ordered" and conductor != "institution":
        problems["conductor"] = "按监管部门要求开展的合规审计应委托专业机构实施（办法第六条）"
    if not lead_name.strip():
        problems["lead_name"] = "请填写合规审计负责人"
    inst = None
    if conductor == "institution":
        inst = session.get(Organization, institution_org_id) if institution_org_id else None
        if inst is None or inst.kind != "auditor":
            problems["institution_org_id"] = "请选择专业审计机构"
        if not (institution_head or "").strip():
            problems["institution_head"] = "请填写专业机构负责人"
    else:
        institution_org_id = None
    if trigger == "ordered" and notified_at is None:
        problems["notified_at"] = "请填写收到监管部门通知的时间"
    for name, label in (("notified_at", "收到通知时间"), ("started_at", "审计开始时间")):
        moment = notified_at if name == "notified_at" else started_at
        if moment is None or name in problems:
            continue
        try:
            moment = typed_moment(moment, label)
        except TimeRefused as exc:
            problems[name] = str(exc)
        if name == "notified_at":
            notified_at = moment
        else:
            started_at = moment
    if problems:
        raise InvalidField.of(problems)
    if inst is not None:
        n = consecutive_by(session, subject_org_id, inst.id)
        if n >= MAX_IN_A_ROW:
            error = InstitutionLimit(
                f"“{inst.name}”已连续 {n} 次为同一审计对象开展合规审计，不得超过三次，"
                "请另选专业机构（办法第十二条）",
                detail={"institution": inst.id, "in_a_row": n},
            )
            error.field = "institution_org_id"  # beside the field on the form
            raise error
    audit = AuditEngagement(
        subject_org_id=subject_org_id,
        trigger=trigger,
        conductor=conductor,
        institution_org_id=institution_org_id,
        lead_name=lead_name.strip(),
        institution_head=(institution_head or "").strip() or None,
        scope=scope.strip(),
        stage="plan",
        notified_at=as_utc(notified_at) if notified_at else None,
        started_at=as_utc(started_at) if started_at else utcnow(),
        created_by=actor.actor,
        ordered_by_org_id=ordered_by,
    )
    if trigger == "ordered":
        start_clock(session, ORDERED_AUDIT, audit)
    session.add(audit)
    session.flush()
    record(
        session,
        "audit.opened",
        actor=actor.actor,
        subject=_subject(audit),
        payload={
            "subject_org": subject_org_id,
            "trigger": trigger,
            "conductor": conductor,
            "institution": institution_org_id,
            "ordered_by": ordered_by,
            "notified_at": audit.notified_at,
            "due_at": audit.due_at,
        },
    )
    return audit


def institutions(session: Session) -> list[Organization]:
    """The professional audit institutions registered on the platform."""
    return list(
        session.scalars(
            select(Organization).where(Organization.kind == "auditor").order_by(Organization.id)
        )
    )


def orderable_subjects(session: Session, regulator: User) -> list[Organization]:
    """Organizations a regulator may order audited: those in its area (AUD-2)."""
    rows = session.scalars(
        select(Organization)
        .where(Organization.kind.not_in(("auditor", "regulator")))
        .order_by(Organization.region_code, Organization.id)
    )
    return [o for o in rows if jurisdiction.may_act(regulator, o.region_code, jurisdiction.AREA)]


def order(
    session: Session,
    *,
    actor: User,
    subject_org_id: int,
    institution_org_id: int | None,
    institution_head: str,
    lead_name: str,
    scope: str = "",
) -> AuditEngagement:
    """A regulator orders an organization in its area audited by a professional
    institution (AUD-2, PIA-A arts. 6-9): the order is the notice, from which the 90
    working days run; the subject sees it with its deadline, and the ledger records it."""
    if actor.org is None or actor.org.kind != "regulator":
        if "admin" not in (actor.roles or []):
            raise NotYourOrganization("只有监管部门可以责令开展合规审计")
    if not subject_org_id or session.get(Organization, subject_org_id) is None:
        raise InvalidField("请选择被审计单位", field="subject_org_id")
    return create(
        session,
        actor=actor,
        subject_org_id=subject_org_id,
        trigger="ordered",
        conductor="institution",
        institution_org_id=institution_org_id,
        institution_head=institution_head,
        lead_name=lead_name,
        scope=scope,
        notified_at=utcnow(),
    )


def get(session: Session, audit_id: int) -> AuditEngagement:
    audit = session.get(AuditEngagement, audit_id)
    if audit is None:
        raise AuditNotFound(f"合规审计不存在：{audit_id}")
    return audit


def can_see(audit: AuditEngagement, user: User) -> bool:
    from gongshu.compliance.access import supervises

    return user.org_id in (audit.subject_org_id, audit.institution_org_id) or supervises(user)


def get_visible(session: Session, audit_id: int, user: User) -> AuditEngagement:
    audit = get(session, audit_id)
    if not can_see(audit, user):
        raise NotYourOrganization("无权查看该合规审计")
    return audit


def listing(session: Session, user: User) -> list[AuditEngagement]:
    from gongshu.compliance.access import supervises

    q = select(AuditEngagement).order_by(AuditEngagement.started_at.desc())
    if not supervises(user):
        q = q.where(
            (AuditEngagement.subject_org_id == user.org_id)
            | (AuditEngagement.institution_org_id == user.org_id)
        )
    return list(session.scalars(q))


def _conducting(session: Session, audit_id: int, user: User) -> AuditEngagement:
    """The audit, if ``user`` belongs to its conductor: the institution, or for an internal
    audit the subject itself."""
    audit = get(session, audit_id)
    conductor_org = (
        audit.institution_org_id if audit.conductor == "institution" else audit.subject_org_id
    )
    if user.org_id != conductor_org and "admin" not in user.roles:
        raise NotYourOrganization("只有实施该审计的机构可以执行此操作")
    return audit


def _open(audit: AuditEngagement) -> None:
    if audit.signed_at is not None or audit.report_sm3 is not None:
        raise AuditSigned("审计报告已签署，审计结论不再修改；整改事项仍可跟踪复核")


def period(audit: AuditEngagement) -> tuple[dt.datetime, dt.datetime]:
    """The period live evidence covers: the two years up to the audit's start (AUD-1)."""
    end = as_utc(audit.signed_at or utcnow())
    return as_utc(audit.started_at) - dt.timedelta(days=731), end + dt.timedelta(seconds=1)


def live_evidence(session: Session, audit: AuditEngagement, point: int) -> list[dict]:
    start, end = period(audit)
    return evidence.live(session, point, org_id=audit.subject_org_id, start=start, end=end)


def results(session: Session, audit_id: int) -> dict[int, AuditPointResult]:
    rows = session.scalars(
        select(AuditPointResult).where(AuditPointResult.audit_id == audit_id)
    ).all()
    return {r.point: r for r in rows}


def assess(
    session: Session, audit_id: int, point: int, *, actor: User, result: str, findings: str = ""
) -> AuditPointResult:
    """Record the result of one point with a snapshot of its live evidence (AUD-6, AUD-8)."""
    audit = _conducting(session, audit_id, actor)
    _open(audit)
    framework.node(point)
    if point not in framework.assessable():
        raise InvalidInput(f"第 {point} 条为说明性条款，不作评价")
    if result not in RESULTS:
        # No verdict is preselected on the page: an unchosen one is named beside the field.
        raise InvalidInput(
            f"请选择第 {point} 条的审计结论：{'、'.join(RESULT_LABELS.values())}",
            detail={"point": point, "field": "result"},
        )
    if result in ("partially_compliant", "non_compliant") and not findings.strip():
        raise InvalidInput(
            "结论为部分符合或不符合时须写明发现的问题",
            detail={"point": point, "field": "findings"},
        )
    if result == "not_applicable" and not findings.strip():
        raise InvalidInput(
            f"第 {point} 条结论为“不适用”时，须在“发现的问题”一栏写明不适用的理由",
            detail={"point": point, "field": "findings"},
        )
    live = live_evidence(session, audit, point)
    row = results(session, audit_id).get(point)
    if row is None:
        row = AuditPointResult(
            audit_id=audit.id, point=point, result=result, assessed_by=actor.actor
        )
        session.add(row)
    row.result, row.findings, row.live = result, findings.strip(), {"sources": live}
    row.assessed_by, row.assessed_at = actor.actor, utcnow()
    audit.stage = "execute"
    session.flush()
    record(
        session,
        "audit.assessed",
        actor=actor.actor,
        subject=_subject(audit),
        payload={"point": point, "result": result, "findings": row.findings},
    )
    return row


# Declared types kept as they are; anything else (HTML, SVG, XML, script) is stored as
# bytes, and every evidence file is served as a download (web/downloads.py).
SAFE_EVIDENCE_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "text/plain",
        "text/csv",
        "application/zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)


def stored_media_type(declared: str | None) -> str:
    kind = (declared or "").split(";")[0].strip().lower()
    return kind if kind in SAFE_EVIDENCE_TYPES else "application/octet-stream"


def add_evidence(
    session: Session,
    audit_id: int,
    point: int,
    *,
    actor: User,
    filename: str,
    media_type: str,
    content: bytes,
) -> AuditEvidence:
    """Attach an evidence file to a point; its hash goes into the ledger."""
    audit = _conducting(session, audit_id, actor)
    _open(audit)
    framework.node(point)
    if not content:
        raise InvalidInput("证据文件为空")
    if len(content) > MAX_EVIDENCE_BYTES:
        raise InvalidInput("证据文件超过 20 MB")
    item = AuditEvidence(
        audit_id=audit.id,
        point=point,
        filename=(filename or "evidence").strip()[:255],
        media_type=stored_media_type(media_type),
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=actor.actor,
    )
    session.add(item)
    session.flush()
    record(
        session,
        "audit.evidence_added",
        actor=actor.actor,
        subject=_subject(audit),
        payload={"point": point, "filename": item.filename, "sha256": item.sha256},
    )
    return item


def evidence_files(session: Session, audit_id: int) -> list[AuditEvidence]:
    return list(
        session.scalars(
            select(AuditEvidence)
            .where(AuditEvidence.audit_id == audit_id)
            .order_by(AuditEvidence.id)
        )
    )


def check_signable(session: Session, audit: AuditEngagement) -> dict[int, AuditPointResult]:
    """Refuse to sign an audit with a point not assessed, or one that assessed nothing:
    every point "not applicable" (AUD-3, AUD-6)."""
    done = results(session, audit.id)
    missing = [p for p in framework.assessable() if p not in done]
    if missing:
        raise InvalidInput(
            f"尚有 {len(missing)} 条参考要点未评价，不能签署报告："
            f"第 {'、'.join(map(str, missing[:10]))} 条" + ("等" if len(missing) > 10 else ""),
            detail={"missing": missing},
        )
    if all(r.result == "not_applicable" for r in done.values()):
        raise InvalidInput(
            "全部参考要点均为“不适用”，这份审计没有实际评价任何要点，不能签署报告",
            detail={"field": "results"},
        )
    return done


def mark_signed(
    session: Session, audit: AuditEngagement, *, actor: User, names: dict[str, str]
) -> AuditEngagement:
    """Every required signature is there (``signing.sign_report``): the report is signed."""
    done = check_signable(session, audit)
    audit.signed_at, audit.signed_lead = utcnow(), names.get("lead")
    audit.signed_head = names.get("head")
    audit.stage = "report"
    session.flush()
    record(
        session,
        "audit.signed",
        actor=actor.actor,
        subject=_subject(audit),
        payload={
            "lead": audit.signed_lead,
            "head": audit.signed_head,
            "report_sm3": audit.report_sm3,
            "results": {str(p): r.result for p, r in sorted(done.items())},
            "on_time": None if audit.due_at is None else audit.signed_at <= as_utc(audit.due_at),
        },
    )
    return audit


def next_due(session: Session, org_id: int, people: int) -> tuple[dt.date | None, str]:
    """When the organization's next audit is due by AUD-1, and the rule."""
    years = 1 if people > LARGE_PROCESSOR else 2
    rule = (
        "处理超过100万人个人信息，每年至少开展一次合规审计（办法第四条）"
        if years == 1
        else "每二年至少开展一次合规审计（办法第四条）"
    )
    last = session.scalar(
        select(AuditEngagement.signed_at)
        .where(AuditEngagement.subject_org_id == org_id, AuditEngagement.signed_at.is_not(None))
        .order_by(AuditEngagement.signed_at.desc())
        .limit(1)
    )
    if last is None:
        return None, rule + "；尚无已签署的审计报告，应尽快开展。"
    day = as_utc(last).date()
    try:
        return day.replace(year=day.year + years), rule
    except ValueError:
        return day.replace(year=day.year + years, day=28), rule
