"""Data quality: rules per entry, reports per version, corrections, assessments,
the one-source duplicate finder and statistics (QUA-1, QUA-2, AGG-2, GOV-1)."""

from __future__ import annotations

from gongshu.capability import Capability, DemoSeed

CAPABILITY = Capability(
    name="quality",
    label="数据质量",
    routers=("gongshu.quality.routes:router", "gongshu.quality.pages:pages"),
    models=("gongshu.quality.models",),
    templates=True,
    clocks=("gongshu.quality.corrections:CLOCKS",),
    jobs=("gongshu.quality.jobs",),
    demo=(DemoSeed("gongshu.quality.demo:seed"),),
    entry_sections=("gongshu.quality.pages:entry_panel",),
)
