"""Helpers shared by the compliance pages: form parsing, flashes, PDF responses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form
from fastapi.responses import Response

from gongshu.documents import Document, render_pdf
from gongshu.errors import InvalidField, InvalidInput
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


def moment(text: str, label: str, field: str = "") -> dt.datetime:
    """A moment typed in a form (``2026-02-12T10:00`` or ``2026-02-12 10:00``): Beijing
    time unless it names a zone; a time in the future is refused, naming ``label``;
    the refusal is beside ``field`` when one is named (issue 17 item 6)."""
    try:
        return typed_moment(text, label)
    except TimeRefused as exc:
        if field:
            raise InvalidField(str(exc), field=field) from None
        raise InvalidInput(str(exc)) from None


def day(text: str, field: str, label: str = "") -> dt.date | None:
    """A date typed in a form; ``label`` is unused (the page names the field)."""
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        said = f"日期格式应为 年-月-日，例如 2026-01-31；收到“{text}”"
        raise InvalidField(said, field=field) from None


def number(text: str, field: str, label: str = "") -> int:
    """A count typed in a form; ``label`` is unused (the page names the field)."""
    text = (text or "0").strip().replace(",", "") or "0"
    if not text.isdigit():
        said = f"请填写不小于 0 的整数；收到“{text}”"
        raise InvalidField(said, field=field)
    return int(text)


class Typed:
    """What was typed into one form, parsed field by field: every problem is kept by
    its field, so the page says them all at once, each beside its field (issue 17
    item 6). ``check()`` refuses the form when there is any."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}

    def _keep(self, parse, *args):  # noqa: ANN001, ANN002, ANN202
        try:
            return parse(*args)
        except InvalidField as exc:
            self.problems.update(exc.fields)
            return None

    def moment(self, text: str, field: str, label: str) -> dt.datetime | None:
        return self._keep(moment, text, label, field)

    def day(self, text: str, field: str, label: str = "") -> dt.date | None:
        return self._keep(day, text, field, label)

    def number(self, text: str, field: str, label: str = "") -> int:
        return self._keep(number, text, field, label) or 0

    def check(self) -> None:
        if self.problems:
            raise InvalidField.of(self.problems)
