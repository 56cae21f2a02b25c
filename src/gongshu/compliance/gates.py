"""The compliance capability's gates at the egress door (``gongshu.egress.gates``)."""

from __future__ import annotations

from gongshu.compliance.assessments import require_for_grant
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
