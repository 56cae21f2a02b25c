"""Compliance: incidents on their clocks, audits on the PIA-A points, impact
assessments, the cross-border route, obligations and reports (SEC-10..12, AUD, XBR, OBL)."""

from __future__ import annotations

from gongshu.capability import Capability, DemoSeed, Evidence

CAPABILITY = Capability(
    name="compliance",
    label="合规",
    routers=(
        "gongshu.compliance.routes:router",
        "gongshu.compliance.pages:pages",
        "gongshu.compliance.ledger_routes:router",
        "gongshu.compliance.ledger_routes:pages",
    ),
    models=("gongshu.compliance.models",),
    templates=True,
    labels={"audit_stage": "gongshu.compliance.models:STAGE_LABELS"},
    clocks=("gongshu.compliance.clocks:CLOCKS",),
    demo=(
        DemoSeed("gongshu.compliance.demo:seed", stage="before_data"),
        DemoSeed("gongshu.compliance.demo:seed_entry_assessments", stage="entries_loaded"),
    ),
    evidence=(
        Evidence(
            (8,), "gongshu.compliance.evidence:approvals_recorded", "共享、开放授权的审批记录"
        ),
        Evidence((25,), "gongshu.compliance.evidence:assessments_kept", "影响评估保存三年以上"),
        Evidence((27,), "gongshu.compliance.evidence:incident_clocks", "安全事件报告时限执行情况"),
    ),
    gates=(
        "gongshu.compliance.gates:IMPACT_ASSESSMENT",
        "gongshu.compliance.gates:CROSS_BORDER",
        "gongshu.compliance.gates:IMPORTANT_DATA",
    ),
    commands=(("compliance", "gongshu.compliance.commands:compliance_app"),),
)
