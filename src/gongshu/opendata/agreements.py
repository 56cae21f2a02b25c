"""Open-use agreements (OPN-4) once drafted by an approval (``service.answer``): the
applicant signs in the portal (SM3 and SHA-256 of the canonical terms in the ledger, then
the grant), confirms disposal, reports usage; the provider, or a data authority over its
region, records breaches (OPN-5)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.ledger import record
from gongshu.ledger.service import canonical_json
from gongshu.opendata.entries import get_open
from gongshu.opendata.errors import AgreementNotFound, AlreadyAnswered, NotApplicant
from gongshu.opendata.models import OpenAgreement, OpenBreach, UsageFeedback
from gongshu.opendata.service import required_text
from gongshu.timeutil import as_utc, utcnow


def get_agreement(session: Session, agreement_id: int) -> OpenAgreement:
    agreement = session.get(OpenAgreement, agreement_id)
    if agreement is None:
        raise AgreementNotFound(f"开放利用协议不存在：{agreement_id}")
    return agreement


def agreement_for(session: Session, application_id: int) -> OpenAgreement | None:
    return session.scalar(
        select(OpenAgreement).where(OpenAgreement.application_id == application_id)
    )


def sign(session: Session, agreement_id: int, *, actor: User) -> OpenAgreement:
    """OPN-4: the applicant signs by an explicit action; the ledger records the agreement's
    SM3 and SHA-256 hashes, and the grant for its fields and term is created."""
    agreement = get_agreement(session, agreement_id)
    if agreement.user_id != actor.id:
        raise NotApplicant("只有申请人本人可以签署该协议")
    if agreement.signed_at is not None:
        raise AlreadyAnswered("该协议已签署")
    body = canonical_json(agreement.terms).encode()
    if hashlib.sha256(body).hexdigest() != agreement.sha256:
        raise AlreadyAnswered("协议文本与登记的摘要不一致，不能签署")
    entry = get_open(session, agreement.entry_id)
    grant = egress.create_grant(
        session,
        entry,
        recipient_user=actor,
        purpose=f"{agreement.terms['use']}；场景：{agreement.terms['scenario']}",
        source="open",
        policy="open",
        actor=actor,
        days=int(agreement.terms["term_days"]),
        columns=agreement.terms["data"]["fields"],
        source_ref=f"open-agreement:{agreement.id}",
    )
    agreement.signed_at, agreement.grant_id = utcnow(), grant.id
    session.flush()
    record(
        session,
        "open.agreement_signed",
        actor=actor.actor,
        subject=f"open-agreement:{agreement.id}",
        payload={
            "entry": entry.id,
            "grant": grant.id,
            "sha256": agreement.sha256,
            "sm3": agreement.sm3,
            "signed_at": agreement.signed_at,
        },
    )
    return agreement


def confirm_disposal(session: Session, agreement_id: int, *, actor: User) -> OpenAgreement:
    """OPN-4: at (or before) expiry the user confirms the data was disposed of;
    the grant ends at once."""
    agreement = get_agreement(session, agreement_id)
    if agreement.user_id != actor.id:
        raise NotApplicant("只有签署人可以确认数据处置")
    if agreement.signed_at is None or agreement.disposal_confirmed_at is not None:
        raise AlreadyAnswered("协议未签署或已确认处置")
    agreement.disposal_confirmed_at = utcnow()
    grant = session.get(Grant, agreement.grant_id)
    if grant is not None and grant.revoked_at is None:
        grant.revoked_at, grant.revoke_reason = utcnow(), "使用方已确认数据处置"
    session.flush()
    record(
        session,
        "open.disposal_confirmed",
        actor=actor.actor,
        subject=f"open-agreement:{agreement.id}",
        payload={"grant": agreement.grant_id},
    )
    return agreement


def give_feedback(session: Session, agreement_id: int, *, actor: User, text: str) -> UsageFeedback:
    """OPN-4: the signatory reports how the data was used (usage feedback)."""
    agreement = get_agreement(session, agreement_id)
    if agreement.user_id != actor.id:
        raise NotApplicant("只有签署人可以反馈使用情况")
    if agreement.signed_at is None:
        raise AlreadyAnswered("协议尚未签署")
    feedback = UsageFeedback(
        agreement_id=agreement.id,
        user_id=actor.id,
        text=required_text(text, "使用情况"),
    )
    session.add(feedback)
    session.flush()
    record(
        session,
        "open.feedback_given",
        actor=actor.actor,
        subject=f"open-agreement:{agreement.id}",
        payload={"feedback": feedback.id, "text": feedback.text},
    )
    return feedback


def feedback_of(session: Session, agreement_id: int) -> list[UsageFeedback]:
    return list(
        session.scalars(
            select(UsageFeedback)
            .where(UsageFeedback.agreement_id == agreement_id)
            .order_by(UsageFeedback.created_at)
        )
    )


# ---------------------------------------------------------------- OPN-5
# Decisions on breaches are in ``breaches``; ``record_breach`` is kept here by name.


def breaches_of(session: Session, agreement_id: int) -> list[OpenBreach]:
    stmt = select(OpenBreach).where(OpenBreach.agreement_id == agreement_id)
    return list(session.scalars(stmt.order_by(OpenBreach.created_at)))


def term_end(agreement: OpenAgreement) -> datetime | None:
    if agreement.signed_at is None:
        return None
    return as_utc(agreement.signed_at) + timedelta(days=int(agreement.terms["term_days"]))
