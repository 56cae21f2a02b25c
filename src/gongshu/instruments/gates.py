"""The instruments capability's gates at the egress door (``gongshu.egress.gates``)."""

from __future__ import annotations

from gongshu.accounts.models import Organization
from gongshu.egress.gates import DeliveryRequest, GrantRequest
from gongshu.instruments import parties
from gongshu.instruments.vendors import require_reviewed


class VendorGate:
    """SEC-13: no grant to an operator or processor (``parties.is_party``) without its own
    passed security review and signed confidentiality agreement on record, and no
    delivery to one whose records lapsed since; no grant to an organization with an
    outsourced vendor lacking a valid review or agreement."""

    name = "外包服务商安全审查与保密协议"

    @staticmethod
    def _org(recipient_org_id: int | None, user) -> int | None:  # noqa: ANN001
        return recipient_org_id or (user.org_id if user is not None else None)

    def check_grant(self, request: GrantRequest) -> None:
        org_id = self._org(request.recipient_org_id, request.recipient_user)
        if org_id is None or org_id == request.entry.provider_org_id:
            return
        org = request.session.get(Organization, org_id)
        if parties.is_party(org, request.source):
            parties.require_cleared(request.session, org)
        require_reviewed(request.session, org_id)

    def check_delivery(self, request: DeliveryRequest) -> None:
        """A party's review or agreement that lapsed or was revoked since the grant stops
        its deliveries too. Declared vendors are checked when the grant is made (the
        delivery path stays one query short); the recipient's organization is usually
        already in the session (the actor's, loaded with it)."""
        grant = request.grant
        actor = request.actor  # None for the portal's public preview: nobody's organization
        org_id = grant.recipient_org_id or (actor.org_id if actor is not None else None)
        if org_id is None or org_id == request.entry.provider_org_id:
            return
        org = request.session.get(Organization, org_id)
        if parties.is_party(org, grant.source):
            parties.require_cleared(request.session, org, action="接收数据")


VENDORS = VendorGate()
