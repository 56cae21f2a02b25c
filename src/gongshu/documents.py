"""Documents for authorities and the public: one PDF renderer for every report.

Assessment, audit, incident, export and disclosure reports are generated from
the platform's records as a ``Document`` (title, facts, sections of paragraphs
and tables) and rendered here. The Chinese font is ReportLab's ``STSong-Light``
CID font (Adobe-GB1): it ships with ReportLab, needs no font file on the
machine and is one of the fonts every PDF reader carries, so the text stays
text (searchable, extractable) rather than pictures of characters.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime

from gongshu.timeutil import BEIJING, utcnow

FONT = "STSong-Light"


@dataclass
class Table:
    header: list[str]
    rows: list[list[object]]
    caption: str | None = None


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class Document:
    """A report: title, key facts (label, value) and sections, in reading order."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    # Signature lines at the end (e.g. AUD-3: audit lead, institution head).
    signatures: list[tuple[str, str]] = field(default_factory=list)
    generated_at: datetime | None = None
    reference: str | None = None  # document number, e.g. a ledger position or a record id


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _escape(text: object) -> str:
    from xml.sax.saxutils import escape

    return escape("" if text is None else str(text)).replace("\n", "<br/>")


def render_pdf(doc: Document) -> bytes:
    """The document as PDF bytes (A4, Chinese text as text)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Paragraph,
        SimpleDocTemplate,
        Spacer,
    )
    from reportlab.platypus import (
        Table as RLTable,
    )

    _register_font()
    # wordWrap="CJK" breaks lines between Chinese characters, which have no spaces.
    body = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=16, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=12)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1)
    heading = ParagraphStyle("heading", parent=body, fontSize=13, leading=20, spaceBefore=8)
    caption = ParagraphStyle("caption", parent=small, textColor=colors.grey)

    generated = (doc.generated_at or utcnow()).astimezone(BEIJING)
    story: list = [Paragraph(_escape(doc.title), title), Spacer(1, 4 * mm)]
    meta = f"生成时间：{generated:%Y年%m月%d日 %H:%M}（北京时间）"
    if doc.reference:
        meta += f"　编号：{_escape(doc.reference)}"
    story += [Paragraph(meta, caption), Spacer(1, 3 * mm)]
    width = A4[0] - 36 * mm

    def grid(data: list[list[object]], header: bool) -> RLTable:
        cells = [[Paragraph(_escape(c), small) for c in row] for row in data]
        table = RLTable(cells, repeatRows=1 if header else 0, colWidths=None)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")))
        table.setStyle(style)
        table._argW = [width / max(1, len(data[0]))] * len(data[0])
        return table

    if doc.facts:
        story += [grid([[k, v] for k, v in doc.facts], header=False), Spacer(1, 4 * mm)]
    for section in doc.sections:
        story.append(Paragraph(_escape(section.heading), heading))
        story += [Paragraph(_escape(p), body) for p in section.paragraphs]
        for t in section.tables:
            if t.caption:
                story.append(Paragraph(_escape(t.caption), caption))
            rows = t.rows or [["（无）"] + [""] * (len(t.header) - 1)]
            story += [grid([t.header, *rows], header=True), Spacer(1, 3 * mm)]
    if doc.signatures:
        story.append(Spacer(1, 8 * mm))
        story += [Paragraph(f"{_escape(k)}：{_escape(v)}", body) for k, v in doc.signatures]

    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=doc.title,
        author="公数 Gongshu",
    ).build(story)
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    """The text of a PDF (tests and the auditor's evidence checks read reports back)."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
