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
            purpose=request.source,
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


IMPORTANT_GRADES = ("重要数据",)  # core data never leaves (egress.policies.default_policy)


def require_authority_consent(
    session,
    entry,
    *,
    recipient_org_id: int | None,
    purpose: str,  # noqa: ANN001
) -> None:
    """SEC-8: important data is shared, traded or entrusted to anyone but its provider only
    with the consent of the data authority on record (``authority_consent_important``) for
    the entry, the use and the recipient (or any recipient, as the authority wrote it)."""
    from gongshu.compliance.errors import AuthorityConsentRequired
    from gongshu.instruments import service as instruments

    if entry.security_grade not in IMPORTANT_GRADES or purpose == "rights":
        return
    if recipient_org_id is not None and recipient_org_id == entry.provider_org_id:
        return
    found = instruments.find(
        session,
        "authority_consent_important",
        entry_id=entry.id,
        purpose=purpose,
        recipient_org_id=recipient_org_id,
    )
    if found is None:
        use = instruments.PURPOSES.get(purpose, purpose)
        raise AuthorityConsentRequired(
            f"目录「{entry.name}」为{entry.security_grade}，用于“{use}”须有数据管理部门出具、"
            "在有效期内且适用于该接收方的同意记录，目前没有，不予提供",
            detail={"entry": entry.id, "purpose": purpose, "recipient_org": recipient_org_id},
        )


class ImportantDataGate:
    """SEC-8 at grant and at every delivery (a consent may have been revoked since)."""

    name = "重要数据提供同意"

    def check_grant(self, request: GrantRequest) -> None:
        org_id = request.recipient_org_id or (
            request.recipient_user.org_id if request.recipient_user else None
        )
        require_authority_consent(
            request.session, request.entry, recipient_org_id=org_id, purpose=request.source
        )

    def check_delivery(self, request: DeliveryRequest) -> None:
        if request.entry.security_grade not in IMPORTANT_GRADES:
            return
        grant = request.grant
        org_id = _recipient_org(request.session, grant.recipient_org_id, grant.recipient_user_id)
        require_authority_consent(
            request.session, request.entry, recipient_org_id=org_id, purpose=grant.source
        )


IMPORTANT_DATA = ImportantDataGate()
