"""Authorized operation (授权运营): agreements, the sandbox, product entries, disclosure."""

from __future__ import annotations

from gongshu.capability import Capability, DemoSeed

CAPABILITY = Capability(
    name="operation",
    label="授权运营",
    routers=("gongshu.operation.routes:router", "gongshu.operation.pages:pages"),
    models=("gongshu.operation.models",),
    templates=True,
    demo=(DemoSeed("gongshu.operation.demo:seed"),),
)
