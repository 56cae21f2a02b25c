"""Instruments (法律文书与授权记录): consents, authorizations, approvals, contracts,
certifications and vendor reviews as records with an issuer, a scope, a validity period
and a document hash, issued only by the party entitled to give them (issue 16 items 3, 8).

Controls above check a record (``service.require``); typed text never satisfies one."""

from __future__ import annotations

from gongshu.capability import Capability, DemoSeed

CAPABILITY = Capability(
    name="instruments",
    label="授权记录",
    routers=("gongshu.instruments.pages:pages",),
    models=("gongshu.instruments.models",),
    templates=True,
    gates=("gongshu.instruments.gates:VENDORS",),
    demo=(DemoSeed("gongshu.instruments.demo:seed", stage="before_data"),),
)
