"""The compliance capability's gates at the egress door (``gongshu.egress.gates``)."""

from __future__ import annotations

from gongshu.accounts.models import User
from gongshu.compliance.assessments import require_for_grant
from gongshu.compliance.crossborder import require_transfer_route
from gongshu.egress.gates import DeliveryRequest, GrantRequest


class ImpactAssessmentGate:
    """PIP-8: sensitive personal information provided to anyone but its provider needs
    the provider's current impact assessment; XBR-5: never to a foreign judicial or
    law-enforcement body."""

    name = "个人信息保护影响评估"

    def check_grant(self, request: GrantRequest) -> None:
        require_for_grant(
            request.session,
            request.entry,
            recipient_user=request.recipient_user,
            recipient_org_id=request.recipient_org_id,
            columns=request.columns,
            dataset_version_id=request.dataset_version_id,
        )

    def check_delivery(self, request: DeliveryRequest) -> None:
        return None


IMPACT_ASSESSMENT = ImpactAssessmentGate()


def _recipient_org(session, recipient_org_id: int | None, user_id: int | None) -> int | None:  # noqa: ANN001
    if recipient_org_id is not None or user_id is None:
        return recipient_org_id
    user = session.get(User, user_id)
    return user.org_id if user is not None else None


class CrossBorderGate:
    """XBR-1, XBR-2: personal information to a recipient marked abroad needs a passed
    assessment, or a contract or certification, on record for the entry, the use and the
    recipient; checked at the grant and again at every delivery (a record may have
    expired or been revoked since). Each person's separate consent (XBR-3) is privacy's
    gate, which withholds the rows of people who did not give it."""

    name = "数据出境"

    def check_grant(self, request: GrantRequest) -> None:
        org_id = request.recipient_org_id or (
            request.recipient_user.org_id if request.recipient_user else None
        )
        require_transfer_route(
            request.session,
            request.entry,
            recipient_org_id=org_id,
            purpose=request.source,
            columns=request.columns,
        )

    def check_delivery(self, request: DeliveryRequest) -> None:
        grant = request.grant
        org_id = _recipient_org(request.session, grant.recipient_org_id, grant.recipient_user_id)
        require_transfer_route(
            request.session,
            request.entry,
            recipient_org_id=org_id,
            purpose=grant.source,
            version=request.version,
            columns=grant.columns,
        )


CROSS_BORDER = CrossBorderGate()
