"""QUA-4: anyone who finds public data wrong, missing or infringing their rights may
complain; the providing agency handles and answers it, and both steps are recorded."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.errors import Conflict, Forbidden, InvalidField, InvalidInput, NotFound
from gongshu.ledger import record
from gongshu.opendata.models import COMPLAINT_KINDS, Complaint
from gongshu.timeutil import utcnow


def submit(
    session: Session,
    entry_id: int,
    *,
    kind: str,
    description: str,
    contact: str,
    actor: User | None,
) -> Complaint:
    entry = catalog.get(session, entry_id)
    if entry.published_version is None:
        raise NotFound(f"目录不存在：{entry_id}")
    problems = {}
    if kind not in COMPLAINT_KINDS:
        problems["kind"] = f"投诉类型无效，应为 {'、'.join(COMPLAINT_KINDS.values())}"
    if not description.strip():
        problems["description"] = "请说明问题所在：哪一数据项、哪些记录、错在哪里"
    contact = contact.strip() or (actor.username if actor else "")
    if not contact:
        problems["contact"] = "请留下联系方式以便答复"
    if problems:
        raise InvalidField.of(problems)
    complaint = Complaint(
        entry_id=entry.id,
        kind=kind,
        description=description.strip()[:4000],
        contact=contact[:128],
        complainant_user_id=actor.id if actor else None,
    )
    session.add(complaint)
    session.flush()
    record(
        session,
        "open.complaint_submitted",
        actor=actor.actor if actor else "anonymous",
        subject=f"entry:{entry.id}",
        payload={"complaint": complaint.id, "kind": kind},
    )
    return complaint


def for_provider(session: Session, actor: User) -> list[Complaint]:
    stmt = select(Complaint).join(CatalogEntry, Complaint.entry_id == CatalogEntry.id)
    if "admin" not in actor.roles:
        stmt = stmt.where(CatalogEntry.provider_org_id == actor.org_id)
    return list(
        session.scalars(stmt.order_by(Complaint.status != "open", Complaint.created_at.desc()))
    )


def answer(session: Session, complaint_id: int, *, actor: User, text: str) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"投诉不存在：{complaint_id}")
    entry = catalog.get(session, complaint.entry_id)
    if "admin" not in actor.roles and actor.org_id != entry.provider_org_id:
        raise Forbidden("只有数据提供单位可以答复投诉")
    if complaint.status != "open":
        raise Conflict("该投诉已答复")
    if not text.strip():
        raise InvalidInput("答复内容不能为空：请说明核实情况和处理结果")
    complaint.status, complaint.answer = "answered", text.strip()
    complaint.answered_by, complaint.answered_at = actor.actor, utcnow()
    session.flush()
    record(
        session,
        "open.complaint_answered",
        actor=actor.actor,
        subject=f"entry:{entry.id}",
        payload={"complaint": complaint.id, "answer": complaint.answer},
    )
    return complaint
