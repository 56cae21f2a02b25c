"""OPR-3 at the egress door: operation of personal information rests on each person's consent.

Not-open data with personal information may be operated only desensitized or with the
rights holder's consent, and the rights holders of personal information are the persons
themselves. An operator's licence of such an entry on basis "consent"
(``operation.models.AgreementItem.basis``) therefore holds only for the persons who
gave it: every read of the entry under the licence's grant (the door's deliveries and
the operator's sandbox, which asks the door's gates the same way) keeps back the rows
of persons without a consent record in effect, not withdrawn, given to the entry's
provider and naming the operator as recipient for authorized operation
(``ConsentRecord.operator_org_id``), covering every kind of personal information the
row carries (a sensitive kind has a record of its own, PIP-1). A row without a readable
resident ID is kept back too. The reader records how many rows were kept back and why
(``Withholding``), never which.
"""

from __future__ import annotations

from sqlalchemy import select

from gongshu.egress.gates import DeliveryRequest, GrantRequest, Withholding
from gongshu.egress.versions import personal_columns
from gongshu.operation.models import AgreementItem
from gongshu.privacy.crossborder import consented, row_keeper
from gongshu.privacy.models import ConsentRecord
from gongshu.timeutil import utcnow
from gongshu.workdays import beijing_date

REASON = "授权运营：未取得个人同意向本运营机构提供的个人信息不予使用"


class OperationConsentGate:
    """Withholds, from an operator licensed on consent, the rows of people who gave none."""

    name = "授权运营个人同意"

    def check_grant(self, request: GrantRequest) -> None:
        return None  # consent is per person: judged row by row at every read

    def check_delivery(self, request: DeliveryRequest) -> None:
        return None

    def withhold(self, request: DeliveryRequest) -> Withholding | None:
        session, grant = request.session, request.grant
        if grant.source != "operation":
            return None
        basis = session.scalar(
            select(AgreementItem.basis).where(AgreementItem.grant_id == grant.id)
        )
        if basis != "consent":
            return None  # open, or desensitized by the grant's policy
        personal = personal_columns(session, request.entry, request.version)
        if not personal:
            return None  # trade secrets only: the holder's authorization on record stands
        allowed = (
            consented(
                session,
                request.entry.provider_org_id,
                ConsentRecord.operator_org_id,
                grant.recipient_org_id,
                beijing_date(utcnow()),
            )
            if grant.recipient_org_id is not None
            else {}  # an operation grant names the operator; without one, nobody consented
        )
        return Withholding(
            gate=self.name, reason=REASON, keep=row_keeper(personal, allowed, request.secret)
        )


OPERATION_CONSENT = OperationConsentGate()
