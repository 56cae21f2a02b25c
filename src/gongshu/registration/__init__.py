"""Registration of data resources and data products, with certificates (REG-1..REG-4)."""

from __future__ import annotations

from gongshu.capability import Capability

CAPABILITY = Capability(
    name="registration",
    label="登记",
    routers=("gongshu.registration.routes:router", "gongshu.registration.pages:pages"),
    models=("gongshu.registration.models",),
    templates=True,
)
