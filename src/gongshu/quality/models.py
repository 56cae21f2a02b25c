"""Quality tables: versioned rule sets, reports per dataset version, correction
tasks, the authority's correction deadline, one-source decisions, assessments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base
from gongshu.timeutil import utcnow

TASK_STATUSES = ("open", "fixed", "confirmed")  # confirmed = the provider says the data is right
TASK_SOURCES = ("rule", "error_report")  # QUA-1 checks, QUA-3 consumers' reports


class QualityRuleSet(Base):
    """One version of an entry's rules; the newest is in force (edits never overwrite)."""

    __tablename__ = "quality_rule_sets"
    __table_args__ = (UniqueConstraint("entry_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    version_no: Mapped[int]
    rules: Mapped[list] = mapped_column(default=list)
    actor: Mapped[str] = mapped_column(String(96))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QualityReport(Base):
    __tablename__ = "quality_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"), unique=True)
    version_no: Mapped[int]  # the dataset version's number, for the trend
    rules_version: Mapped[int]
    rows: Mapped[int] = mapped_column(BigInteger)
    results: Mapped[list] = mapped_column(default=list)  # per rule; examples already masked
    scores: Mapped[dict] = mapped_column(default=dict)  # dimension -> 0..100
    overall: Mapped[float]
    seconds: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CorrectionTask(Base):
    __tablename__ = "quality_correction_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str | None] = mapped_column(String(32))
    dimension: Mapped[str | None] = mapped_column(String(16))
    field: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    examples: Mapped[list] = mapped_column(default=list)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("quality_reports.id"))
    error_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("sharing_error_reports.id"), unique=True
    )
    opened_version_no: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    deadline: Mapped[datetime | None]
    deadline_warning: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CorrectionDeadline(Base):
    """Working days a provider has to correct, as the data authority of a region sets it."""

    __tablename__ = "quality_correction_deadlines"

    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    workdays: Mapped[int]
    set_by: Mapped[str] = mapped_column(String(96))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class OneSourceDecision(Base):
    """The data authority names the one legal collecting agency for a data item (AGG-2, CAT-9)."""

    __tablename__ = "quality_one_source_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_ids: Mapped[list] = mapped_column(default=list)  # the entries found to overlap
    legal_entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"))
    legal_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assessment(Base):
    """A periodic quality assessment over an agency or a tier (QUA-2)."""

    __tablename__ = "quality_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # agency | tier
    scope_value: Mapped[str] = mapped_column(String(200))  # org id or tier
    area_prefix: Mapped[str] = mapped_column(String(6), default="")
    ranking: Mapped[list] = mapped_column(default=list)
    actor: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
