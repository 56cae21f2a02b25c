"""The open-data portal, its use declarations, applications and agreements,
the CKAN-compatible Action API and the DCAT-AP 3 export (OPN-1..6)."""

from __future__ import annotations

from gongshu.capability import Capability, DemoSeed

CAPABILITY = Capability(
    name="opendata",
    label="开放",
    routers=(
        "gongshu.opendata.ckan:router",
        "gongshu.opendata.routes:router",
        "gongshu.opendata.pages:pages",
        "gongshu.opendata.breach_pages:pages",
    ),
    models=("gongshu.opendata.models",),
    templates=True,
    mine=("gongshu.opendata.mine:items",),
    clocks=("gongshu.opendata.clocks:CLOCKS",),
    demo=(DemoSeed("gongshu.opendata.demo:seed"),),
)
