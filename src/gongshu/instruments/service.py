"""Issue, revoke, list and require instruments (issue 16 item 3).

Who may issue which kind (``issue``; the issuer is the signed-in user's organization,
never a typed name):

- ``holder_authorization``: the rights holder, i.e. the entry's providing organization.
- ``authority_consent_important`` and ``welfare_approval``: a data authority whose region
  reaches the entry's region (``accounts.jurisdiction``, AREA).
- ``xbr_contract`` and ``xbr_certification``: the exporter, i.e. the entry's providing
  organization, naming the recipient abroad; the signed contract or the certificate is
  the uploaded document. (No certifying-body role exists on the platform yet: the
  exporter records the certificate it holds.)
- ``vendor_review`` and ``confidentiality_agreement``: the operator or processor for a
  vendor it declared itself (``vendors``); the recipient is its own organization.
- ``party_review`` and ``party_agreement`` (SEC-13 for the outside party itself): a data
  authority whose region reaches the party's region (``accounts.jurisdiction``, AREA),
  naming the operator or processor as recipient; the agreement only once the party's
  review is on record and valid (``parties``).

``require`` is the one check controls call: it returns the valid record covering the
scope (entry, purpose, recipient, vendor) at a time, or raises ``InstrumentRequired``
with a Chinese message naming what is missing. Takes a Session, flushes, never commits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts import jurisdiction
from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.instruments.errors import (
    BadInstrument,
    InstrumentNotFound,
    InstrumentRequired,
    NotEntitled,
)
from gongshu.instruments.models import Instrument, Vendor
from gongshu.ledger import record
from gongshu.protect.crypto import sm3
from gongshu.timeutil import BEIJING, as_utc, utcnow

KINDS = {
    "holder_authorization": "权利人授权",
    "authority_consent_important": "主管部门同意提供重要数据",
    "xbr_assessment": "数据出境安全评估（已通过）",
    "xbr_contract": "个人信息出境标准合同",
    "xbr_certification": "个人信息保护认证",
    "welfare_approval": "主管部门公益使用批准",
    "vendor_review": "外包服务商安全审查",
    "confidentiality_agreement": "外包服务商保密协议",
    "party_review": "受托单位安全审查（已通过）",
    "party_agreement": "受托单位安全保护及保密协议",
}
# What a record is for; the door's grant sources are among them.
PURPOSES = {
    "operation": "授权运营",
    "market": "挂牌交易",
    "sharing": "共享",
    "open": "开放",
    "welfare": "公益使用",
    "outsourcing": "委托处理",
}
AUTHORITY_KINDS = {"authority_consent_important", "welfare_approval", "xbr_assessment"}
# Who records a passed security assessment: the authority or the regulator of the region.
AUTHORITY_ORGS = {"xbr_assessment": ("data_authority", "regulator")}
HOLDER_KINDS = {"holder_authorization", "xbr_contract", "xbr_certification"}
VENDOR_KINDS = {"vendor_review", "confidentiality_agreement"}
PARTY_KINDS = {"party_review", "party_agreement"}
# Outside parties a data authority reviews (SEC-13): operators and processors.
PARTY_ORGS = ("operator", "enterprise")
RECIPIENT_REQUIRED = {"xbr_assessment", "xbr_contract", "xbr_certification", *PARTY_KINDS}
XBR_KINDS = ("xbr_assessment", "xbr_contract", "xbr_certification")
MAX_YEARS = 10
PDF_MAGIC = b"%PDF-"


def _bad(message: str, field: str) -> BadInstrument:
    return BadInstrument(message, detail={"field": field})


def day_start(day: date) -> datetime:
    """A day typed by a person is a Beijing day: its first instant, in UTC."""
    return datetime.combine(day, time(), BEIJING).astimezone(UTC)


def _moment(value: datetime | date, field: str) -> datetime:
    if isinstance(value, datetime):  # naive: Beijing time, never UTC
        return as_utc(value if value.tzinfo else value.replace(tzinfo=BEIJING))
    if isinstance(value, date):
        return day_start(value)
    raise _bad("请填写日期", field)


def store_document(data: bytes, filename: str, *, data_dir: Path) -> tuple[str, str]:
    """Keep the signed document (a PDF) under the data dir; returns (relative path, SM3)."""
    if not data:
        raise _bad("请上传签署的文书（PDF 文件）", "document")
    if not data.startswith(PDF_MAGIC):
        raise _bad("文书须为 PDF 文件", "document")
    digest = sm3(data).hex()
    rel = Path("instruments") / f"{digest[:24]}.pdf"
    storage.write_file([data], data_dir / rel, root=data_dir / rel.parts[0])
    return rel.as_posix(), digest


def _entitled(
    session: Session,
    actor: User,
    kind: str,
    entry: CatalogEntry | None,
    vendor: Vendor | None,
    party: Organization | None = None,
) -> None:
    org = actor.org
    if org is None:
        raise NotEntitled("只有所属机构可以出具授权记录，您的账号不属于任何机构")
    label = KINDS[kind]
    if kind in PARTY_KINDS:  # SEC-13: the authority of the party's region or above
        if org.kind != "data_authority":
            raise NotEntitled(
                f"「{label}」只能由受托单位「{party.name}」所在区域本级或上级数据管理部门出具，"
                f"本机构（{org.name}）无权出具"
            )
        review = kind == "party_review"
        jurisdiction.require(
            session,
            actor,
            party.region_code,
            reach=jurisdiction.AREA,
            action="审查" if review else "与",
            what=f"受托单位「{party.name}」" + ("" if review else "签订安全保护及保密协议"),
            law="SEC-13",
        )
    elif kind in AUTHORITY_KINDS:
        kinds = AUTHORITY_ORGS.get(kind, ("data_authority",))
        if org.kind not in kinds or not jurisdiction.may_act(
            actor, entry.region_code, jurisdiction.AREA
        ):
            raise NotEntitled(
                f"「{label}」只能由目录「{entry.name}」所在区域本级或上级"
                f"{'数据管理部门或监管部门' if len(kinds) > 1 else '数据管理部门'}出具，"
                f"本机构（{org.name}）无权出具"
            )
    elif kind in HOLDER_KINDS:
        if org.id != entry.provider_org_id:
            raise NotEntitled(
                f"「{label}」只能由目录「{entry.name}」的提供单位（权利人）"
                f"{entry.provider.name}出具，本机构（{org.name}）无权出具"
            )
    elif kind in VENDOR_KINDS:
        if vendor is None or vendor.org_id != org.id:
            raise NotEntitled(f"「{label}」只能由登记该外包服务商的本单位出具")


def issue(
    session: Session,
    *,
    actor: User,
    kind: str,
    title: str,
    purpose: str,
    valid_from: datetime | date,
    valid_until: datetime | date,
    document_name: str,
    document_path: str,
    document_sm3: str,
    entry_id: int | None = None,
    recipient_org_id: int | None = None,
    vendor_id: int | None = None,
) -> Instrument:
    """Record an instrument issued by ``actor``'s organization, for its scope."""
    if kind not in KINDS:
        raise _bad(f"文书种类无效：{kind}", "kind")
    if not (title or "").strip():
        raise _bad("请填写文书名称", "title")
    entry = vendor = party = None
    if kind in VENDOR_KINDS:
        vendor = session.get(Vendor, vendor_id) if vendor_id else None
        if vendor is None or vendor.ended_at is not None:
            raise _bad("请选择本单位登记在册的外包服务商", "vendor_id")
        purpose, recipient_org_id, entry_id = "outsourcing", vendor.org_id, None
    elif kind in PARTY_KINDS:
        party = session.get(Organization, recipient_org_id) if recipient_org_id else None
        if party is None or party.kind not in PARTY_ORGS:
            raise _bad("请选择受审查的授权运营机构或受托处理单位", "recipient_org_id")
        purpose, entry_id = "outsourcing", None
    else:
        entry = session.get(CatalogEntry, entry_id) if entry_id else None
        if entry is None:
            raise _bad("请选择文书适用的数据目录", "entry_id")
        if purpose not in PURPOSES or purpose == "outsourcing":
            raise _bad("请选择文书适用的用途", "purpose")
        if kind == "welfare_approval" and purpose != "welfare":
            raise _bad("公益使用批准的用途须为“公益使用”", "purpose")
    if recipient_org_id is not None and session.get(Organization, recipient_org_id) is None:
        raise _bad(f"接收方机构不存在：{recipient_org_id}", "recipient_org_id")
    if kind in RECIPIENT_REQUIRED and recipient_org_id is None:
        raise _bad("出境合同或认证须写明境外接收方", "recipient_org_id")
    start, end = _moment(valid_from, "valid_from"), _moment(valid_until, "valid_until")
    if end <= start:
        raise _bad("有效期截止须晚于起始", "valid_until")
    if end - start > timedelta(days=366 * MAX_YEARS):
        raise _bad(f"有效期不得超过 {MAX_YEARS} 年", "valid_until")
    if not document_path or len(document_sm3 or "") != 64:
        raise _bad("请上传签署的文书（PDF 文件）", "document")
    _entitled(session, actor, kind, entry, vendor, party)
    if (
        kind == "party_agreement"
        and find(
            session, "party_review", entry_id=None, purpose="outsourcing", recipient_org_id=party.id
        )
        is None
    ):  # SEC-13: the agreement is signed with a party that passed the review
        raise _bad(
            f"受托单位「{party.name}」尚无在有效期内的「{KINDS['party_review']}」记录，"
            "须先经安全审查合格，再登记保密协议",
            "kind",
        )
    item = Instrument(
        kind=kind,
        issuer_org_id=actor.org_id,
        issuer_user_id=actor.id,
        issued_by=actor.actor,
        entry_id=entry_id,
        purpose=purpose,
        recipient_org_id=recipient_org_id,
        vendor_id=vendor_id if vendor else None,
        title=title.strip()[:200],
        valid_from=start,
        valid_until=end,
        document_name=(document_name or "document.pdf")[:255],
        document_path=document_path,
        document_sm3=document_sm3,
    )
    session.add(item)
    session.flush()
    record(
        session,
        "instrument.issued",
        actor=actor.actor,
        subject=f"instrument:{item.id}",
        payload={
            "kind": kind,
            "issuer_org": actor.org_id,
            "entry": entry_id,
            "purpose": purpose,
            "recipient": recipient_org_id,
            "vendor": item.vendor_id,
            "valid_from": start,
            "valid_until": end,
            "sm3": document_sm3,
        },
    )
    return item


def get(session: Session, instrument_id: int) -> Instrument:
    item = session.get(Instrument, instrument_id)
    if item is None:
        raise InstrumentNotFound(f"授权记录不存在：第 {instrument_id} 号")
    return item


def revoke(session: Session, instrument_id: int, *, actor: User, reason: str) -> Instrument:
    """The issuing organization revokes its record; controls stop accepting it at once."""
    item = get(session, instrument_id)
    if actor.org_id != item.issuer_org_id:
        raise NotEntitled("只有出具该记录的机构可以撤销它")
    if not (reason or "").strip():
        raise _bad("请填写撤销理由", "reason")
    if item.revoked_at is None:
        item.revoked_at, item.revoked_by, item.revoke_reason = utcnow(), actor.actor, reason.strip()
        session.flush()
        record(
            session,
            "instrument.revoked",
            actor=actor.actor,
            subject=f"instrument:{item.id}",
            payload={"kind": item.kind, "reason": item.revoke_reason},
        )
    return item


def listing(session: Session, org_id: int | None) -> list[Instrument]:
    """Records an organization issued or is the recipient of (all for None)."""
    q = select(Instrument).order_by(Instrument.id.desc())
    if org_id is not None:
        q = q.where((Instrument.issuer_org_id == org_id) | (Instrument.recipient_org_id == org_id))
    return list(session.scalars(q).unique())


def _problem(
    item: Instrument,
    kind: str,
    entry_id: int | None,
    purpose: str,
    recipient_org_id: int | None,
    vendor_id: int | None,
    at: datetime,
) -> str | None:
    """Why ``item`` does not satisfy the check, or None."""
    if item.kind != kind:
        return f"其种类是「{KINDS.get(item.kind, item.kind)}」"
    if item.revoked_at is not None:
        return "已被撤销"
    if at < as_utc(item.valid_from):
        return "尚未生效"
    if at >= as_utc(item.valid_until):
        return "已过期"
    if item.entry_id != entry_id:
        return "适用的数据目录不同"
    if item.purpose != purpose:
        return f"适用用途是“{PURPOSES.get(item.purpose, item.purpose)}”"
    if item.recipient_org_id is not None and item.recipient_org_id != recipient_org_id:
        return "适用的接收方不同"
    if item.recipient_org_id is None and kind in RECIPIENT_REQUIRED:
        return "未写明接收方"
    if vendor_id is not None and item.vendor_id != vendor_id:
        return "适用的外包服务商不同"
    return None


def find(
    session: Session,
    kind: str,
    *,
    entry_id: int | None,
    purpose: str,
    recipient_org_id: int | None = None,
    vendor_id: int | None = None,
    at: datetime | None = None,
) -> Instrument | None:
    """A valid record of ``kind`` covering the scope at ``at`` (now), or None."""
    at = as_utc(at) if at else utcnow()
    q = select(Instrument).where(Instrument.kind == kind, Instrument.revoked_at.is_(None))
    q = q.where(Instrument.entry_id == entry_id) if entry_id is not None else q
    q = q.where(Instrument.vendor_id == vendor_id) if vendor_id is not None else q
    for item in session.scalars(q.order_by(Instrument.id.desc())).unique():
        if _problem(item, kind, entry_id, purpose, recipient_org_id, vendor_id, at) is None:
            return item
    return None


def require(
    session: Session,
    kind: str,
    *,
    entry_id: int | None,
    purpose: str,
    recipient_org_id: int | None = None,
    vendor_id: int | None = None,
    instrument_id: object = None,
    at: datetime | None = None,
    what: str = "",
) -> Instrument:
    """The valid record covering the scope, or ``InstrumentRequired`` (fail closed).

    ``instrument_id``: the record a person referred to; anything but the number of a
    record on file (typed text such as a consent "x") is refused. ``what`` names the
    object for the message (e.g. 目录「低保对象」)."""
    at = as_utc(at) if at else utcnow()
    label = KINDS[kind]
    where = what or (f"第 {entry_id} 号数据目录" if entry_id else "本次处理")
    use = PURPOSES.get(purpose, purpose)
    if instrument_id is not None and instrument_id != "":
        text = str(instrument_id).strip()
        if not text.isdigit():
            raise InstrumentRequired(
                f"{where}须引用已登记的「{label}」记录编号，填写的文字“{text[:40]}”不能代替"
                "授权记录，请先由有权出具的一方在“授权记录”页面登记",
                detail={"kind": kind, "entry": entry_id, "purpose": purpose},
            )
        item = session.get(Instrument, int(text))
        problem = (
            "不存在"
            if item is None
            else _problem(item, kind, entry_id, purpose, recipient_org_id, vendor_id, at)
        )
        if problem is not None:
            raise InstrumentRequired(
                f"{where}引用的第 {text} 号授权记录不能用于“{use}”：该记录{problem}",
                detail={"kind": kind, "instrument": int(text), "problem": problem},
            )
        return item
    item = find(
        session,
        kind,
        entry_id=entry_id,
        purpose=purpose,
        recipient_org_id=recipient_org_id,
        vendor_id=vendor_id,
        at=at,
    )
    if item is None:
        raise InstrumentRequired(
            f"{where}用于“{use}”须有在有效期内、未撤销的「{label}」记录，目前没有",
            detail={
                "kind": kind,
                "entry": entry_id,
                "purpose": purpose,
                "recipient": recipient_org_id,
            },
        )
    return item
