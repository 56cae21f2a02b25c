"""Catalog: entries in three tiers, versions, review and merge (CAT-1..CAT-7)."""

from __future__ import annotations

from gongshu.capability import Capability

CAPABILITY = Capability(
    name="catalog",
    label="目录",
    routers=("gongshu.catalog.routes:router", "gongshu.catalog.pages:pages"),
    models=("gongshu.catalog.models",),
    templates=True,
    home=("gongshu.catalog.home:panel",),
    labels={
        "sharing": "gongshu.catalog.models:SHARING_LABELS",
        "opening": "gongshu.catalog.models:OPENING_LABELS",
        "status": "gongshu.catalog.models:STATUS_LABELS",
        "grade": "gongshu.catalog.models:GRADE_LABELS",
        "field_type": "gongshu.catalog.models:FIELD_TYPE_LABELS",
        "field_kind": "gongshu.catalog.models:FIELD_KIND_LABELS",
        "load_policy": "gongshu.catalog.models:LOAD_POLICY_LABELS",
    },
)
