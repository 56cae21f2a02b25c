"""PIP-10: a person gathers their own data through the platform (the export of a
rights request) and authorizes a market entity to use it.

The authorization is the person's consent to that organization, recorded as
consent records (one per sensitive kind, PIP-1), and a grant of the same rows to
the organization, read only through the egress door. Withdrawing the consent
revokes the grant at once.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import Organization, User
from gongshu.catalog import service as catalog
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.egress.versions import column_tags
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.privacy.errors import NotThePerson
from gongshu.privacy.models import ConsentRecord
from gongshu.timeutil import utcnow

MARKET_KINDS = ("enterprise", "operator")
METHOD = "经本人授权获取并使用本人数据"
SOURCE_PREFIX = "authorization:"


def _kinds(session: Session, grant: Grant) -> list[str]:
    entry = catalog.get(session, grant.entry_id)
    version = storage.newest(session, entry.id)
    tags = column_tags(entry, version)
    columns = grant.columns or [c["name"] for c in version.columns]
    return sorted({code for c in columns for code in tags.get(c, [])})


def authorize(
    session: Session,
    grant_id: int,
    *,
    user: User,
    org_id: int,
    purpose: str,
    on: date,
    days: int = 90,
) -> Grant:
    """The person passes their own export (a ``rights`` grant) to a market entity."""
    from gongshu.privacy import consent

    own = egress.get_grant(session, grant_id)
    if own.recipient_user_id != user.id or own.source != "rights":
        raise NotThePerson("只能授权使用本人通过权利请求获得的数据")
    egress.check_grant(own, user)
    org = session.get(Organization, org_id)
    if org is None or org.kind not in MARKET_KINDS:
        raise InvalidField("被授权方须为企业或授权运营机构", field="org_id")
    if not (purpose or "").strip():
        raise InvalidField("须写明授权使用的目的", field="purpose")
    if not 1 <= days <= 365:
        raise InvalidInput("授权期限须为 1 至 365 天")
    kinds = _kinds(session, own) or ["PERSON_NAME"]
    sensitive = consent.sensitive_kinds(session, kinds)
    plain = [k for k in kinds if k not in sensitive]
    records = []
    for group in ([plain] if plain else []) + [[k] for k in sensitive]:
        records.append(_consent(session, user=user, org=org, purpose=purpose, kinds=group, on=on))
    grant = egress.create_grant(
        session,
        catalog.get(session, own.entry_id),
        recipient_org_id=org.id,
        purpose=purpose.strip(),
        source="rights",
        actor=user,
        days=days,
        policy="share-conditional",
        columns=own.columns,
        row_filter=list(own.row_filter),
        dataset_version_id=own.dataset_version_id,  # the same rows of the same version
        source_ref=(SOURCE_PREFIX + ",".join(str(r.id) for r in records))[:64],
    )
    record(
        session,
        "rights.authorized",
        actor=user.actor,
        subject=f"grant:{grant.id}",
        payload={"from_grant": own.id, "org": org.id, "consents": [r.id for r in records]},
    )
    return grant


def _consent(
    session: Session, *, user: User, org: Organization, purpose: str, kinds: list[str], on: date
) -> ConsentRecord:
    from gongshu.privacy import notices
    from gongshu.privacy.consent import _retain_until

    rec = ConsentRecord(
        person_hash=user.id_number_hash,
        org_id=org.id,
        action="grant",
        purpose=purpose.strip(),
        method=METHOD,
        data_kinds=kinds,
        sensitive=len(kinds) == 1 and bool(_is_sensitive(session, kinds[0])),
        effective_on=on,
        evidence="本人在平台上授权",
        notice_id=getattr(notices.current(session, org.id), "id", None),
        retain_until=_retain_until(on),
        recorded_by=user.actor,
    )
    session.add(rec)
    session.flush()
    record(
        session,
        "consent.given",
        actor=user.actor,
        subject=f"consent:{rec.id}",
        payload={
            "org": org.id,
            "person": rec.person_hash,
            "purpose": rec.purpose,
            "method": METHOD,
            "kinds": kinds,
            "separate": rec.sensitive,
            "on": on,
        },
    )
    return rec


def _is_sensitive(session: Session, kind: str) -> bool:
    from gongshu.privacy.consent import sensitive_kinds

    return bool(sensitive_kinds(session, [kind]))


def revoke_for(session: Session, withdrawn: ConsentRecord, *, actor: User) -> list[Grant]:
    """Withdrawing an authorization's consent stops the grant at once (PIP-4, PIP-10)."""
    candidates = session.scalars(
        select(Grant).where(Grant.source_ref.startswith(SOURCE_PREFIX), Grant.revoked_at.is_(None))
    )
    wanted = str(withdrawn.withdraws_id)
    grants = [
        g for g in candidates if wanted in g.source_ref.removeprefix(SOURCE_PREFIX).split(",")
    ]
    for grant in grants:
        grant.revoked_at, grant.revoke_reason = utcnow(), "本人撤回授权同意"
        record(
            session,
            "grant.revoked",
            actor=actor.actor,
            subject=f"grant:{grant.id}",
            payload={"reason": grant.revoke_reason, "consent": withdrawn.withdraws_id},
        )
    session.flush()
    return grants
