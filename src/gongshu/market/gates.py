"""The market's gate at the egress door (``gongshu.egress.gates``): a grant with source
"market" is only ever on a sandbox product whose provenance the records prove, checked
when the grant is created and again at every delivery (OPR-4, TRD-3). A market grant on
an entry's raw rows, however it came to exist, delivers nothing."""

from __future__ import annotations

from gongshu.egress.gates import DeliveryRequest, GrantRequest
from gongshu.market import provenance


class SandboxProductGate:
    name = "数据产品来源"

    def check_grant(self, request: GrantRequest) -> None:
        if request.source == "market":
            provenance.require(request.session, request.entry)

    def check_delivery(self, request: DeliveryRequest) -> None:
        if request.grant.source == "market":
            provenance.require(request.session, request.entry)


SANDBOX_PRODUCT = SandboxProductGate()
