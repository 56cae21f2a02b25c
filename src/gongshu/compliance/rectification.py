"""Rectification after an audit: items with owners and deadlines, reported done by the
subject, re-reviewed by the institution, then reported (AUD-4; PIA-A art. 11)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.compliance import framework
from gongshu.compliance.audits import _conducting, _subject, get
from gongshu.compliance.errors import AuditNotFound, NotYourOrganization
from gongshu.compliance.models import Rectification
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.timeutil import utcnow


def rectifications(session: Session, audit_id: int) -> list[Rectification]:
    return list(
        session.scalars(
            select(Rectification)
            .where(Rectification.audit_id == audit_id)
            .order_by(Rectification.id)
        )
    )


def add_rectification(
    session: Session,
    audit_id: int,
    point: int,
    *,
    actor: User,
    text: str,
    owner: str,
    due_on: dt.date,
) -> Rectification:
    """A rectification item from the recommendations, with its owner and deadline (AUD-4)."""
    audit = _conducting(session, audit_id, actor)
    framework.node(point)
    problems = {}
    if not text.strip():
        problems["text"] = "整改事项须写明整改内容"
    if not owner.strip():
        problems["owner"] = "整改事项须写明责任人"
    if problems:
        raise InvalidField.of(problems)
    item = Rectification(
        audit_id=audit.id, point=point, text=text.strip(), owner=owner.strip(), due_on=due_on
    )
    session.add(item)
    session.flush()
    record(
        session,
        "audit.rectification_added",
        actor=actor.actor,
        subject=_subject(audit),
        payload={
            "item": item.id,
            "point": point,
            "owner": item.owner,
            "due_on": due_on.isoformat(),
        },
    )
    return item


def complete_rectification(
    session: Session, item_id: int, *, actor: User, note: str
) -> Rectification:
    """The subject reports an item rectified; the institution then re-reviews it (AUD-4)."""
    item = session.get(Rectification, item_id)
    if item is None:
        raise AuditNotFound(f"整改事项不存在：{item_id}")
    audit = get(session, item.audit_id)
    if actor.org_id != audit.subject_org_id and "admin" not in actor.roles:
        raise NotYourOrganization("只有被审计单位可以报告整改完成")
    if not note.strip():
        raise InvalidField("请说明整改情况", field="note")
    item.done_at, item.done_note = utcnow(), note.strip()
    item.reviewed_at = item.review_ok = item.review_note = item.reviewed_by = None
    session.flush()
    record(
        session,
        "audit.rectified",
        actor=actor.actor,
        subject=_subject(audit),
        payload={"item": item.id, "note": item.done_note},
    )
    return item


def review_rectification(
    session: Session, item_id: int, *, actor: User, ok: bool, note: str = ""
) -> Rectification:
    """The institution's re-review of a rectified item (AUD-4)."""
    item = session.get(Rectification, item_id)
    if item is None:
        raise AuditNotFound(f"整改事项不存在：{item_id}")
    audit = _conducting(session, item.audit_id, actor)
    if item.done_at is None:
        raise InvalidInput("被审计单位尚未报告整改完成，不能复核")
    item.reviewed_at, item.reviewed_by = utcnow(), actor.actor
    item.review_ok, item.review_note = ok, note.strip()
    audit.stage = "follow_up"
    session.flush()
    record(
        session,
        "audit.rectification_reviewed",
        actor=actor.actor,
        subject=_subject(audit),
        payload={"item": item.id, "ok": ok, "note": item.review_note},
    )
    return item
