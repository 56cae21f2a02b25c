"""Tables: incidents (SEC-10..12), audits (AUD-1..8), impact assessments (PIP-8),
cross-border assessments and foreign recipients (XBR-1..5), obligation profiles (OBL-1..5).

Deadlines are stored with a warning column: NULL when the period reaches a year
without a holiday schedule (CLK-4), never guessed; the clock lifecycle in
``gongshu.workdays.lifecycle`` (``clocks.CLOCKS``) fills it later.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.accounts.models import Organization
from gongshu.db import Base
from gongshu.timeutil import utcnow

GRADES = ("general", "large", "major", "especially_major")  # 网络安全事件分级指南
RESULTS = ("compliant", "partially_compliant", "non_compliant", "not_applicable")


STAGE_LABELS = {"plan": "准备", "execute": "实施", "report": "报告", "follow_up": "整改跟踪"}


class Incident(Base):
    """A security incident with every field of the incident report (SEC-12)."""

    __tablename__ = "compliance_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    system: Mapped[str] = mapped_column(Text)  # affected facility, system or platform
    found_at: Mapped[datetime]
    # When the incident happened (NDSMR 11's 8 hours and PIA-A point 27's 72 hours run
    # from it); None on rows from before it was asked, read as the discovery time.
    occurred_at: Mapped[datetime | None]
    place: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64))  # 事件类型
    grade: Mapped[str] = mapped_column(String(24))  # GRADES
    personal_info: Mapped[bool] = mapped_column(default=False)
    important_data: Mapped[bool] = mapped_column(default=False)
    people_affected: Mapped[int] = mapped_column(default=0)
    harm_done: Mapped[bool] = mapped_column(default=False)
    harm: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    ransom_amount: Mapped[str | None] = mapped_column(String(64))
    ransom_method: Mapped[str | None] = mapped_column(String(128))
    ransom_date: Mapped[date | None]
    trend: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    clue_attacker: Mapped[str] = mapped_column(Text, default="")
    clue_path: Mapped[str] = mapped_column(Text, default="")
    clue_vulnerability: Mapped[str] = mapped_column(Text, default="")
    further_measures: Mapped[str] = mapped_column(Text, default="")
    help_needed: Mapped[str] = mapped_column(Text, default="")
    scene_protection: Mapped[str] = mapped_column(Text, default="")
    handled_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Organization] = relationship(lazy="joined")
    reports: Mapped[list[IncidentReport]] = relationship(
        back_populates="incident", order_by="IncidentReport.id", lazy="selectin"
    )
    notifications: Mapped[list[IncidentNotification]] = relationship(
        order_by="IncidentNotification.id", lazy="selectin"
    )


class IncidentReport(Base):
    """One reporting obligation of SEC-11 with its own clock, and when it was met."""

    __tablename__ = "compliance_incident_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("compliance_incidents.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    # NULL: after handling (not handled yet) or a year without schedule (see warning).
    due_at: Mapped[datetime | None]
    due_warning: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[str | None] = mapped_column(String(96))
    sha256: Mapped[str | None] = mapped_column(String(64))

    incident: Mapped[Incident] = relationship(back_populates="reports")


class IncidentNotification(Base):
    """A notice to the affected people (SEC-10, SEC-11)."""

    __tablename__ = "compliance_incident_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("compliance_incidents.id"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    notified_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(96))


class AuditEngagement(Base):
    """A compliance audit of one subject (AUD-2): who orders it, who conducts it."""

    __tablename__ = "compliance_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # self | ordered
    conductor: Mapped[str] = mapped_column(String(16))  # internal | institution
    institution_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    lead_name: Mapped[str] = mapped_column(String(64))
    institution_head: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(16), default="plan")  # AUD-8
    notified_at: Mapped[datetime | None]  # ordered audits: the notice received
    due_at: Mapped[datetime | None]  # 90 working days (AUD-2)
    due_warning: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None]
    signed_lead: Mapped[str | None] = mapped_column(String(64))
    signed_head: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(96))
    # The regulator whose order this is (AUD-2), when ordered in the platform.
    ordered_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    # SM3 of the report's content, fixed by the first signature (AUD-3, SEC-9).
    report_sm3: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[str | None] = mapped_column(String(96))

    subject: Mapped[Organization] = relationship(foreign_keys=[subject_org_id], lazy="joined")
    institution: Mapped[Organization | None] = relationship(
        foreign_keys=[institution_org_id], lazy="joined"
    )
    ordered_by: Mapped[Organization | None] = relationship(
        foreign_keys=[ordered_by_org_id], lazy="joined"
    )


class SignerKey(Base):
    """A person's SM2 key pair for signing reports (SEC-9): the public key in the clear,
    the private key sealed with SM4-GCM under a key of the instance's key store."""

    __tablename__ = "compliance_signer_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    public_key: Mapped[str] = mapped_column(String(130))  # hex 04 || x || y
    fingerprint: Mapped[str] = mapped_column(String(16))
    sealed_key_id: Mapped[str] = mapped_column(String(64))
    sealed_private: Mapped[str] = mapped_column(Text)  # base64 SM4-GCM
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditSignature(Base):
    """One signer's SM2 signature over the report's SM3 (AUD-3): the audit lead, and for
    an institution its head."""

    __tablename__ = "compliance_audit_signatures"
    __table_args__ = (UniqueConstraint("audit_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("compliance_audits.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))  # lead | head
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(64))
    report_sm3: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(Text)  # base64 r || s
    public_key: Mapped[str] = mapped_column(String(130))
    key_fingerprint: Mapped[str] = mapped_column(String(16))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditPointResult(Base):
    """The assessment of one reference point in one audit (AUD-6)."""

    __tablename__ = "compliance_audit_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("compliance_audits.id"), index=True)
    point: Mapped[int]
    result: Mapped[str] = mapped_column(String(24))
    findings: Mapped[str] = mapped_column(Text, default="")
    live: Mapped[dict | None]  # the live evidence as it was when assessed
    assessed_by: Mapped[str] = mapped_column(String(96))
    assessed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvidence(Base):
    """An evidence file uploaded for one point."""

    __tablename__ = "compliance_audit_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("compliance_audits.id"), index=True)
    point: Mapped[int]
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(96))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rectification(Base):
    """A rectification item with owner and deadline, re-reviewed by the institution (AUD-4)."""

    __tablename__ = "compliance_rectifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("compliance_audits.id"), index=True)
    point: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[date]
    done_at: Mapped[datetime | None]
    done_note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(96))
    review_ok: Mapped[bool | None]
    review_note: Mapped[str | None] = mapped_column(Text)


class ImpactAssessment(Base):
    """A personal-information protection impact assessment of one processing activity (PIP-8)."""

    __tablename__ = "compliance_impact_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    activity: Mapped[str] = mapped_column(String(200))
    covers: Mapped[list] = mapped_column(default=list)  # ASSESSMENT_KINDS
    # PIP-8 scope: the catalog entries and the uses (grant sources) it assessed; an
    # assessment opens the door's gate only for these (none: it opens nothing).
    entry_ids: Mapped[list] = mapped_column(default=list)
    purposes: Mapped[list] = mapped_column(default=list)
    answers: Mapped[dict] = mapped_column(default=dict)  # template question -> answer
    conclusion: Mapped[str] = mapped_column(Text)
    assessed_on: Mapped[date]
    valid_until: Mapped[date]
    keep_until: Mapped[date]  # at least 3 years (PIP-8)
    created_by: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Organization] = relationship(lazy="joined")


class ForeignRecipient(Base):
    """A recipient organization marked as abroad: its deliveries count as export (XBR-1)."""

    __tablename__ = "compliance_foreign_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    country: Mapped[str] = mapped_column(String(64))
    contact: Mapped[str] = mapped_column(Text, default="")
    judicial: Mapped[bool] = mapped_column(default=False)  # foreign judicial/law enforcement
    marked_by: Mapped[str] = mapped_column(String(96))
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Organization] = relationship(lazy="joined")


class TransferAssessment(Base):
    """A cross-border route assessment: the facts entered and the route they lead to."""

    __tablename__ = "compliance_transfer_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    facts: Mapped[dict] = mapped_column(default=dict)
    route: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[list] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComplianceProfile(Base):
    """Who an organization is, for the obligations register (OBL-1..5, SEC-2)."""

    __tablename__ = "compliance_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    facts: Mapped[dict] = mapped_column(default=dict)
    updated_by: Mapped[str] = mapped_column(String(96))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
