"""Helpers shared by the compliance pages: form parsing, flashes, PDF responses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form
from fastapi.responses import Response

from gongshu.documents import Document, render_pdf
from gongshu.errors import InvalidInput
from gongshu.timeutil import TimeRefused, typed_moment

FormStr = Annotated[str, Form()]
FormList = Annotated[list[str] | None, Form()]

FLASHES = {
    "incident": "安全事件已登记，报告义务及期限见下表。",
    "facts": "事件定级和事实已更新；新增的报告义务及其期限见下表。",
    "handled": "已登记处置结束时间，处置后 5 个工作日的期限已计算。",
    "reported": "报告已生成并记为已报送。",
    "notified": "已记录对受影响个人的通知。",
    "assessed": "审计结论已保存。",
    "evidence": "证据文件已上传。",
    "signed": "已用您的 SM2 密钥签署审计报告。",
    "submitted": "审计报告已报送，报送记录已写入账本。",
    "ordered": "已责令开展合规审计，被审计单位将看到本次审计及其完成期限。",
    "rectification": "整改事项已记录。",
    "assessment": "影响评估已保存，至少保存三年。",
    "profile": "单位情况已保存，适用义务见下表。",
}


def pdf(doc: Document, name: str) -> Response:
    return Response(
        render_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename={name}.pdf"},
    )


def moment(text: str, label: str) -> dt.datetime:
    """A moment typed in a form (``2026-02-12T10:00`` or ``2026-02-12 10:00``): Beijing
    time unless it names a zone; a time in the future is refused, naming ``label``."""
    try:
        return typed_moment(text, label)
    except TimeRefused as exc:
        raise InvalidInput(str(exc)) from None


def day(text: str, field: str) -> dt.date | None:
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"日期格式应为 年-月-日 ({field})：{text}") from exc


def number(text: str, field: str) -> int:
    text = (text or "0").strip().replace(",", "") or "0"
    if not text.isdigit():
        raise InvalidInput(f"请填写不小于 0 的整数 ({field})：{text}")
    return int(text)
