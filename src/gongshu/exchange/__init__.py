"""Sharing between agencies on the statutory clock: applications, answers,
referrals to the data authority, error reports and effect reports (SHR-1..6, QUA-3, GOV-2)."""

from __future__ import annotations

from gongshu.capability import Capability, DemoSeed

CAPABILITY = Capability(
    name="exchange",
    label="共享",
    routers=("gongshu.exchange.routes:router", "gongshu.exchange.pages:pages"),
    models=("gongshu.exchange.models",),
    templates=True,
    clocks=("gongshu.exchange.clocks:CLOCKS",),
    demo=(DemoSeed("gongshu.exchange.demo:seed"),),
    labels={
        "sharing_status": "gongshu.exchange.models:STATUS_LABELS",
        "error_status": "gongshu.exchange.models:ERROR_STATUS_LABELS",
    },
)
