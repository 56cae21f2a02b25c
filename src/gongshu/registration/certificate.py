"""The registration certificate (REG-3) as a PDF, from the approved version."""

from __future__ import annotations

from gongshu.documents import Document, Section, Table, render_pdf
from gongshu.registration.models import KINDS, PRICE_MODES, RIGHTS, Registration


def certificate_document(reg: Registration) -> Document:
    snap = reg.approved_snapshot or {}
    kind = KINDS.get(snap.get("kind"), "")
    rights = "、".join(RIGHTS[r] for r in snap.get("rights") or []) or "无"
    if snap.get("acting_for"):
        rights += f"（受托为{snap['acting_for']}加工处理，不享有数据权利）"
    price = PRICE_MODES.get(snap.get("price_mode"), "")
    if snap.get("price_yuan") is not None and snap.get("price_mode") == "self":
        price += f"：{snap['price_yuan']} 元/{snap.get('price_unit') or '次'}"
    if snap.get("fee_item"):
        price += f"：收费项目 {snap['fee_item']}"
    sources = [[s["resource_code"], s["name"]] for s in snap.get("sources") or []]
    return Document(
        title=f"{kind}登记证书",
        reference=reg.code,
        generated_at=reg.approved_at,
        facts=[
            ("登记编码", reg.code or ""),
            ("名称", snap.get("name", "")),
            ("登记类型", kind),
            ("登记主体", snap.get("registrant") or ""),
            ("所持权利", rights),
            ("定价方式", price),
            ("登记版本", f"第 {reg.approved_version_no} 版"),
        ],
        sections=[
            Section("描述", [snap.get("description") or ""]),
            Section("加工处理说明", [snap.get("processing_summary") or "（无）"]),
            Section(
                "来源数据",
                tables=[Table(["资源代码", "名称"], sources, caption="登记时所列来源目录")],
            ),
            Section(
                "查验",
                [
                    f"本证书登记编码 {reg.code} 含 ISO 7064 MOD 37,36 校验位，"
                    f"可在平台公开登记查询页 /registry/{reg.code} 查验登记状态与变更记录。"
                ],
            ),
        ],
        signatures=[
            ("发证机关", snap.get("issuer") or ""),
            ("审核意见", reg.last_comment or "同意登记"),
        ],
    )


def certificate_pdf(reg: Registration) -> bytes:
    return render_pdf(certificate_document(reg))
