"""Reports render as PDFs whose Chinese text is real text (AUD-3, SEC-6, XBR-4)."""

from __future__ import annotations

from gongshu.documents import Document, Section, Table, pdf_text, render_pdf


def test_chinese_text_survives_a_round_trip() -> None:
    doc = Document(
        "个人信息保护合规审计报告",
        facts=[("被审计单位", "江西省公安厅")],
        sections=[
            Section(
                "一、审计结论",
                ["本次审计共评估31个要点。"],
                [Table(["要点", "结果"], [["同意管理", "部分合规"]], caption="表1 结果")],
            ),
            Section("二、空表", tables=[Table(["事项", "期限"], [])]),
        ],
        signatures=[("审计负责人", "张三")],
        reference="AUD-2026-001",
    )
    data = render_pdf(doc)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in ("个人信息保护合规审计报告", "江西省公安厅", "部分合规", "审计负责人：张三"):
        assert expected in text
    assert "AUD-2026-001" in text
    assert "（无）" in text  # an empty table says so instead of vanishing


def test_markup_in_values_is_text_not_markup() -> None:
    text = pdf_text(render_pdf(Document("报告", facts=[("名称", "<b>A & B</b>")])))
    assert "<b>A & B</b>" in text
