"""Consent records, rights requests, the records found for them, and tombstones.

A person is named only by a keyed SM3 hash of the resident ID number (the same
key as account registration, so a verified account sees its own consents); the
number itself is never stored in clear. Consent records are append-only: a
withdrawal is a new record pointing at the one it withdraws (PIP-3, PIP-4), and
no record may be edited, nor deleted before its SEC-7 retention date.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base
from gongshu.errors import Conflict
from gongshu.timeutil import utcnow

REQUEST_KINDS = {
    "access": "查阅",
    "copy": "复制",
    "transfer": "转移",
    "correct": "更正",
    "supplement": "补充",
    "delete": "删除",
    "explain": "解释说明处理规则",
}
REQUEST_STATUS = {"open": "办理中", "answered": "已答复"}
MATCH_OUTCOMES = {
    "exported": "已提供副本",
    "deleted": "已删除",
    "corrected": "已更正",
    "explained": "已解释说明",
    "refused": "不予办理（已说明依据）",
}


class ConsentRecord(Base):
    """One consent action: given (``grant``) or withdrawn (``withdraw``). Never edited."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_hash: Mapped[str] = mapped_column(String(64), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # grant | withdraw
    purpose: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(128))  # processing method (PIP-3)
    data_kinds: Mapped[list] = mapped_column(default=list)  # entity codes
    sensitive: Mapped[bool] = mapped_column(default=False)  # a separate consent (PIP-1)
    minor_under_14: Mapped[bool] = mapped_column(default=False)
    guardian_hash: Mapped[str | None] = mapped_column(String(64))  # PIP-1: under 14
    effective_on: Mapped[date]
    evidence: Mapped[str] = mapped_column(Text, default="")  # how it was obtained
    withdraws_id: Mapped[int | None] = mapped_column(ForeignKey("consent_records.id"))
    # PIP-4: after a withdrawal the data is deleted or anonymized within 15 days.
    deletion_due: Mapped[date | None]
    retain_until: Mapped[date]  # SEC-7: at least 5 years
    # The processing rules (PIP-7) in force at the organization when consent was given.
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("processing_notices.id"))
    # XBR-3: a separate consent to provide the person's information to this recipient
    # abroad (a record of its own, naming the recipient); None for every other consent.
    abroad_recipient_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    # OPR-3: the person's consent to the organization providing their information to this
    # operator for authorized operation (授权运营): the recipient and the purpose in one
    # column; None for every other consent.
    operator_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    recorded_by: Mapped[str] = mapped_column(String(96))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(ConsentRecord, "before_update")
def _refuse_edit(mapper, connection, target: ConsentRecord) -> None:  # noqa: ANN001, ARG001
    raise Conflict("同意记录不可修改，撤回须新增记录")


@event.listens_for(ConsentRecord, "before_delete")
def _refuse_early_delete(mapper, connection, target: ConsentRecord) -> None:  # noqa: ANN001, ARG001
    if target.retain_until > date.today():
        raise Conflict(f"同意记录须至少保存 5 年，{target.retain_until} 前不得删除")


class RightsRequest(Base):
    """A verified person's request to see, copy, transfer, correct, supplement or delete
    their data, or to have processing explained (PIP-5, PIP-6)."""

    __tablename__ = "rights_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    person_hash: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text, default="")
    corrections: Mapped[dict] = mapped_column(default=dict)  # column -> value asked for
    # The ID number and mobile are needed to find and filter rows until the request
    # closes; kept SM4-GCM encrypted under an instance key and erased on closing.
    lookup_enc: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime | None]  # PIP-5: 15 working days (CLK-1); None: CLK-4
    deadline_warning: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)


class RightsMatch(Base):
    """One catalog entry holding the person's rows, for its provider to handle."""

    __tablename__ = "rights_matches"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_requests.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    columns: Mapped[list] = mapped_column(default=list)  # the columns that matched
    rows: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"))
    new_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    handled_by: Mapped[str | None] = mapped_column(String(96))
    handled_at: Mapped[datetime | None]


class Tombstone(Base):
    """Which person's rows of which version were removed or corrected, and the new version."""

    __tablename__ = "privacy_tombstones"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_hash: Mapped[str] = mapped_column(String(64), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("rights_requests.id"))
    kind: Mapped[str] = mapped_column(String(16))  # deleted | corrected
    old_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    old_version_no: Mapped[int]
    new_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    row_numbers: Mapped[list] = mapped_column(default=list)  # 0-based rows of the old file
    columns: Mapped[list] = mapped_column(default=list)  # corrected columns
    actor: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


NOTICE_SECTIONS = {
    "functions": "各业务功能处理的个人信息种类",
    "retention": "保存期限",
    "rights_channels": "个人行使权利的方式和程序",
    "third_party_code": "嵌入的第三方代码、插件及其处理的个人信息",
    "third_parties": "向第三方提供个人信息的情况",
    "risks": "可能存在的安全风险及保护措施",
    "complaints": "投诉、举报渠道",
    "officer_contact": "个人信息保护负责人联系方式",
}


class ProcessingNotice(Base):
    """An organization's personal-information processing rules (PIP-7), one version
    per change; consent records name the version they were given under."""

    __tablename__ = "processing_notices"
    __table_args__ = (UniqueConstraint("org_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    version_no: Mapped[int]
    # functions: [{"function": str, "kinds": [entity codes]}]; the others: text.
    sections: Mapped[dict] = mapped_column(default=dict)
    published_by: Mapped[str] = mapped_column(String(96))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
