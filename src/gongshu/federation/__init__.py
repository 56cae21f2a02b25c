"""Federation: province, city and county platforms as one network (AGG-7, AGG-8,
CAT-2). Nodes with SM2 keys, a signed directory, signed message chains with
receipts, and the catalog change feed up to the province (docs/federation.md)."""

from __future__ import annotations

from gongshu.capability import Capability

CAPABILITY = Capability(
    name="federation",
    label="联邦",
    routers=(
        "gongshu.federation.routes:router",
        "gongshu.federation.routes:api",
        "gongshu.federation.pages:router",
    ),
    models=("gongshu.federation.models",),
    templates=True,
    jobs=("gongshu.federation.jobs",),
    commands=(("node", "gongshu.federation.commands:node_app"),),
    clocks=("gongshu.federation.sharing:CLOCKS",),
    registration_sections=("gongshu.federation.docking:section",),
    labels={
        "node_role": "gongshu.federation.models:ROLE_LABELS",
        "channel": "gongshu.federation.models:CHANNEL_LABELS",
        "federated_review": "gongshu.federation.models:REVIEW_LABELS",
        "national_status": "gongshu.federation.models:NATIONAL_LABELS",
        "objection_status": "gongshu.federation.models:OBJECTION_LABELS",
    },
)

__all__ = ["CAPABILITY"]
