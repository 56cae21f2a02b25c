"""The reply letter to the person (PIP-5: inform them of the result), generated from
the request's records as a PDF with Chinese text (gongshu.documents)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.documents import Document, Section, Table, render_pdf
from gongshu.privacy import service
from gongshu.privacy.models import MATCH_OUTCOMES, REQUEST_KINDS, REQUEST_STATUS, RightsRequest
from gongshu.timeutil import beijing


def letter(session: Session, req: RightsRequest) -> Document:
    person = session.get(User, req.user_id)
    rows = []
    for m in service.matches(session, req):
        entry = session.get(CatalogEntry, m.entry_id)
        org = session.get(Organization, m.provider_org_id)
        result = MATCH_OUTCOMES.get(m.outcome or "", "办理中")
        if m.outcome == "exported":
            result += f"（授权 #{m.grant_id}，请在“我的授权”中下载，30 日内有效）"
        if m.new_version_id:
            result += "（已生成新的数据版本，原记录不再对外提供）"
        rows.append(
            [
                entry.name,
                org.name,
                str(m.rows),
                result,
                m.note or "",
                beijing(m.handled_at) or "",
            ]
        )
    deadline = beijing(req.deadline) if req.deadline else (req.deadline_warning or "")
    paragraphs = [
        f"{person.display_name}：",
        f"您于 {beijing(req.received_at)} 提出的个人信息{REQUEST_KINDS[req.kind]}请求，"
        f"平台已按《网络数据安全管理条例》第二十三条在 15 个工作日内受理和办理。",
    ]
    if not rows:
        paragraphs.append(req.answer or "")
    paragraphs.append(
        "如对办理结果有异议，可向省数据管理部门投诉、举报，或依法向人民法院提起诉讼。"
    )
    return Document(
        title="个人信息权利请求答复函",
        reference=f"rights:{req.id}",
        facts=[
            ("请求编号", str(req.id)),
            ("请求类型", REQUEST_KINDS[req.kind]),
            ("收到时间", beijing(req.received_at)),
            ("答复期限", deadline),
            ("状态", REQUEST_STATUS[req.status]),
            ("答复时间", beijing(req.answered_at) if req.answered_at else "办理中"),
        ],
        sections=[
            Section("答复", paragraphs=paragraphs),
            Section(
                "各数据提供单位的办理结果",
                tables=[
                    Table(
                        header=["数据目录", "提供单位", "记录数", "结果", "说明", "办理时间"],
                        rows=rows,
                    )
                ],
            ),
        ],
        signatures=[("答复单位", "公共数据平台（各数据提供单位）")],
    )


def letter_pdf(session: Session, req: RightsRequest) -> bytes:
    return render_pdf(letter(session, req))
