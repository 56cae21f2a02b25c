"""Loading tables into catalog entries (AGG-1, AGG-3): ingest, classification at load,
the provider's preview, pages and routes. Stored versions are ``gongshu.storage``."""

from __future__ import annotations

from gongshu.capability import Capability

CAPABILITY = Capability(
    name="datasets",
    label="数据归集",
    routers=("gongshu.datasets.routes:router", "gongshu.datasets.pages:pages"),
    templates=True,
    jobs=("gongshu.datasets.jobs",),
    commands=(("keys", "gongshu.datasets.commands:keys_app"),),
)
