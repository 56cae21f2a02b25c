"""Personal information: consent records and rights requests (PIP-1 to PIP-6, SEC-7)."""

from __future__ import annotations

from gongshu.capability import Capability, DemoSeed, Evidence

CAPABILITY = Capability(
    name="privacy",
    label="个人信息保护",
    routers=(
        "gongshu.privacy.routes:router",
        "gongshu.privacy.pages:pages",
        "gongshu.privacy.notice_pages:pages",
    ),
    models=("gongshu.privacy.models", "gongshu.privacy.erasure_models"),
    jobs=("gongshu.privacy.jobs",),
    templates=True,
    mine=("gongshu.privacy.mine:items",),
    clocks=("gongshu.privacy.clock:CLOCKS",),
    demo=(DemoSeed("gongshu.privacy.demo:seed"),),
    evidence=(
        Evidence(
            (2, 13), "gongshu.privacy.evidence:sensitive_consents", "敏感个人信息单独同意记录"
        ),
        Evidence((18, 19), "gongshu.privacy.evidence:rights_requests", "个人权利请求按期答复"),
    ),
    home=("gongshu.privacy.home:panel",),
    gates=(
        "gongshu.privacy.crossborder:CROSS_BORDER_CONSENT",
        "gongshu.privacy.operation:OPERATION_CONSENT",
    ),
)
