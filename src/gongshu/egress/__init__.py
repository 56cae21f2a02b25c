"""The egress door: every byte of dataset content that leaves for someone else."""

from __future__ import annotations

from gongshu.capability import Capability

CAPABILITY = Capability(
    name="egress",
    label="数据出口",
    routers=("gongshu.egress.routes:router", "gongshu.egress.routes:pages"),
    models=("gongshu.egress.models",),
    templates=True,
    commands=(("trace", "gongshu.egress.commands:trace"),),
)
