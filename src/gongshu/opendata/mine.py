"""What a person filed on the open-data portal, for their own pages (issue 17 item 7):
applications (OPN-3), declared uses (OPN-2), open-use agreements (OPN-4) and
complaints (QUA-4). Read only; each list is the person's own rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.capability import MyItem, reference
from gongshu.catalog.models import CatalogEntry
from gongshu.opendata.models import (
    COMPLAINT_KINDS,
    Complaint,
    OpenAgreement,
    OpenApplication,
    OpenUseDeclaration,
)

APPLICATION_STATUS = {
    "pending": "待答复",
    "approved": "已同意",
    "refused": "不予开放",
    "referred": "已报数据管理部门决定",
}


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(CatalogEntry.id, CatalogEntry.name).where(CatalogEntry.id.in_(ids))
    ).all()
    return dict(rows)


def _application(a: OpenApplication, name: str, agreement: OpenAgreement | None) -> MyItem:
    history = [(a.created_at, "提交申请，平台受理，答复期限开始计算")]
    if a.referred_at:
        history.append((a.referred_at, f"提供单位报请数据管理部门决定：{a.referral_note or ''}"))
    if a.answered_at:
        said = "同意开放" if a.status == "approved" else f"不予开放：{a.answer_reason or ''}"
        history.append((a.answered_at, said))
    if a.status == "approved" and agreement is not None and agreement.signed_at is None:
        step = "请阅读并签署开放利用协议"
    elif a.status == "refused":
        step = "如有异议，可向数据管理部门反映"
    elif a.status == "referred":
        step = "等待数据管理部门决定（提供单位的答复期限随报请停止计算）"
    elif a.status == "pending":
        step = "等待答复，期限届满前会收到结果"
    else:
        step = ""
    details = [
        ("数据目录", name),
        ("数据用途", a.use),
        ("应用场景", a.scenario),
        ("安全保护措施", a.security_measures),
        ("申请字段", "、".join(a.fields) if a.fields else "全部字段"),
        ("使用期限", f"{a.term_days} 天"),
    ]
    if a.legal_basis:
        details.append(("法律依据", a.legal_basis))
    return MyItem(
        kind="applications",
        key=a.id,
        reference=reference("KFSQ", a.created_at, a.id),
        title=name,
        status=APPLICATION_STATUS.get(a.status, "办理中"),
        filed_at=a.created_at,
        closed=a.status in ("approved", "refused"),
        href=f"/open/agreements/{agreement.id}" if agreement else f"/open/{a.entry_id}",
        # A referral stops the provider's clock (SHR-4): no days left to show then.
        deadline=a.deadline if a.status != "referred" else None,
        deadline_warning=a.deadline_warning if a.status != "referred" else None,
        next_step=step,
        history=tuple(history),
        details=tuple(details),
    )


def _agreement(g: OpenAgreement, name: str) -> MyItem:
    history = [(g.created_at, "提供单位同意，协议生成")]
    if g.signed_at:
        history.append((g.signed_at, "本人签署协议，获得数据使用授权"))
    if g.disposal_confirmed_at:
        history.append((g.disposal_confirmed_at, "确认已销毁数据，授权结束"))
    if g.disposal_confirmed_at:
        status, step = "已结束", ""
    elif g.signed_at:
        status, step = "履行中", "期满后请确认销毁数据"
    else:
        status, step = "待签署", "请阅读并签署协议"
    return MyItem(
        kind="agreements",
        key=g.id,
        reference=reference("KFXY", g.created_at, g.id),
        title=name,
        status=status,
        filed_at=g.created_at,
        closed=g.disposal_confirmed_at is not None,
        href=f"/open/agreements/{g.id}",
        next_step=step,
        history=tuple(history),
        details=(("数据目录", name), ("协议 SM3 摘要", g.sm3)),
    )


def _declaration(d: OpenUseDeclaration, name: str) -> MyItem:
    return MyItem(
        kind="declarations",
        key=d.id,
        reference=reference("KFSM", d.created_at, d.id),
        title=name,
        status="已声明，可获取数据",
        filed_at=d.created_at,
        closed=True,
        href=f"/open/{d.entry_id}",
        history=((d.created_at, "声明用途，获得数据使用授权"),),
        details=(("数据目录", name), ("数据用途", d.use), ("应用场景", d.scenario)),
    )


def _complaint(c: Complaint, name: str) -> MyItem:
    history = [(c.created_at, "提交投诉，转数据提供单位处理")]
    if c.answered_at:
        history.append((c.answered_at, f"提供单位答复：{c.answer or ''}"))
    return MyItem(
        kind="complaints",
        key=c.id,
        reference=reference("KFTS", c.created_at, c.id),
        title=name,
        status="已答复" if c.status == "answered" else "处理中",
        filed_at=c.created_at,
        closed=c.status == "answered",
        href=f"/open/{c.entry_id}",
        next_step="" if c.status == "answered" else "等待数据提供单位核实答复",
        history=tuple(history),
        details=(
            ("数据目录", name),
            ("投诉类型", COMPLAINT_KINDS.get(c.kind, "其他")),
            ("问题说明", c.description),
            ("联系方式", c.contact),
        ),
    )


def items(session: Session, user: User) -> list[MyItem]:
    """Everything ``user`` filed on the portal, newest first within each kind."""
    apps = list(
        session.scalars(
            select(OpenApplication)
            .where(OpenApplication.user_id == user.id)
            .order_by(OpenApplication.id.desc())
        )
    )
    agreements = list(
        session.scalars(
            select(OpenAgreement)
            .where(OpenAgreement.user_id == user.id)
            .order_by(OpenAgreement.id.desc())
        )
    )
    declarations = list(
        session.scalars(
            select(OpenUseDeclaration)
            .where(OpenUseDeclaration.user_id == user.id)
            .order_by(OpenUseDeclaration.id.desc())
        )
    )
    complaints = list(
        session.scalars(
            select(Complaint)
            .where(Complaint.complainant_user_id == user.id)
            .order_by(Complaint.id.desc())
        )
    )
    names = _names(
        session,
        {r.entry_id for r in [*apps, *agreements, *declarations, *complaints]},
    )
    by_application = {g.application_id: g for g in agreements}
    return [
        *(_application(a, names.get(a.entry_id, ""), by_application.get(a.id)) for a in apps),
        *(_agreement(g, names.get(g.entry_id, "")) for g in agreements),
        *(_declaration(d, names.get(d.entry_id, "")) for d in declarations),
        *(_complaint(c, names.get(c.entry_id, "")) for c in complaints),
    ]
