"""XBR-3 at the egress door: each person's separate consent to going abroad.

A delivery to a recipient marked abroad (``compliance.crossborder``) keeps back every
row that carries personal information unless a resident ID in the row belongs to a
person whose separate consents to providing abroad to that recipient are on record
(``ConsentRecord.abroad_recipient_org_id``, given to the entry's provider, in effect,
not withdrawn) and name every kind of personal information the row carries (a
sensitive kind has a record of its own, PIP-1). A row without a readable ID is kept
back too. The door records how
many rows were kept back and why (``Withholding``), never which.

``consented`` and ``row_keeper`` are shared with the operation-consent gate
(``privacy.operation``, OPR-3), which differs only in the recipient column it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from gongshu.accounts.models import User
from gongshu.compliance.crossborder import foreign_recipient, personal_columns
from gongshu.egress.gates import DeliveryRequest, GrantRequest, Withholding
from gongshu.identifiers import is_resident_id, normalize_id
from gongshu.privacy.models import ConsentRecord
from gongshu.privacy.person import HASH_LABEL
from gongshu.protect.crypto import derive_key, hmac_sm3
from gongshu.timeutil import utcnow
from gongshu.workdays import beijing_date

RESIDENT_ID = "CN_RESIDENT_ID"
REASON = "境外接收方：未取得个人单独同意向境外提供的个人信息不予提供"


def consented(
    session: Session,
    provider_org_id: int,
    recipient: InstrumentedAttribute,
    recipient_org_id: int,
    on: date,
) -> dict[str, set[str]]:
    """Person hash -> the kinds of personal information the person consented, in effect
    on ``on``, to ``provider_org_id`` providing to ``recipient_org_id``, named in the
    consent record's ``recipient`` column (abroad, or the operator)."""
    given = session.execute(
        select(ConsentRecord.id, ConsentRecord.person_hash, ConsentRecord.data_kinds).where(
            ConsentRecord.org_id == provider_org_id,
            recipient == recipient_org_id,
            ConsentRecord.action == "grant",
            ConsentRecord.effective_on <= on,
        )
    ).all()
    withdrawn = set(
        session.scalars(
            select(ConsentRecord.withdraws_id).where(
                ConsentRecord.org_id == provider_org_id,
                ConsentRecord.action == "withdraw",
                ConsentRecord.effective_on <= on,
            )
        )
    )
    out: dict[str, set[str]] = {}
    for cid, person, kinds in given:
        if cid not in withdrawn:
            out.setdefault(person, set()).update(kinds or [])
    return out


def consented_abroad(
    session: Session, provider_org_id: int, recipient_org_id: int, on: date
) -> dict[str, set[str]]:
    """Person hash -> the kinds of personal information the person separately consented,
    in effect on ``on``, to ``provider_org_id`` providing to ``recipient_org_id`` abroad."""
    return consented(
        session, provider_org_id, ConsentRecord.abroad_recipient_org_id, recipient_org_id, on
    )


def row_keeper(
    personal: dict[str, set[str]], allowed: dict[str, set[str]], secret: str
) -> Callable[[object], list[bool]]:
    """``keep(batch)``: a row with personal information passes only when a resident ID in
    it belongs to a person in ``allowed`` whose kinds cover every kind the row carries; a
    row with none passes; a row whose ID is unreadable does not. No session inside."""
    ids = [col for col, codes in personal.items() if RESIDENT_ID in codes]
    key = derive_key(secret.encode(), HASH_LABEL)

    def consenting(value: object, kinds: set[str]) -> bool:
        number = normalize_id(str(value or ""))
        if len(number) != 18 or not is_resident_id(number):
            return False
        return kinds <= allowed.get(hmac_sm3(key, number.encode()).hex(), set())

    def keep(batch) -> list[bool]:  # noqa: ANN001
        names = set(batch.schema.names)
        present = [c for c in personal if c in names]
        if not present:
            return [True] * batch.num_rows
        values = {c: batch.column(c).to_pylist() for c in present}
        id_cols = [c for c in ids if c in names]
        out = []
        for i in range(batch.num_rows):
            carried = [c for c in present if values[c][i] not in (None, "")]
            if not carried:
                out.append(True)  # no personal information in this row
                continue
            kinds = set().union(*(personal[c] for c in carried))
            out.append(any(consenting(values[c][i], kinds) for c in id_cols))
        return out

    return keep


class CrossBorderConsentGate:
    """Withholds, from a delivery abroad, the rows of people without separate consent."""

    name = "个人信息出境单独同意"

    def check_grant(self, request: GrantRequest) -> None:
        return None  # consent is per person: judged row by row at delivery

    def check_delivery(self, request: DeliveryRequest) -> None:
        return None

    def withhold(self, request: DeliveryRequest) -> Withholding | None:
        session, grant = request.session, request.grant
        org_id = grant.recipient_org_id
        if org_id is None and grant.recipient_user_id is not None:
            user = session.get(User, grant.recipient_user_id)
            org_id = user.org_id if user is not None else None
        foreign = foreign_recipient(session, org_id)
        if foreign is None:
            return None
        personal = personal_columns(session, request.entry, request.version)
        if not personal:
            return None
        allowed = consented_abroad(
            session, request.entry.provider_org_id, foreign.org_id, beijing_date(utcnow())
        )
        return Withholding(
            gate=self.name, reason=REASON, keep=row_keeper(personal, allowed, request.secret)
        )


CROSS_BORDER_CONSENT = CrossBorderConsentGate()
