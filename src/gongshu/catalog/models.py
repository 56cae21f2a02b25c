"""Catalog tables: an entry's current state and every version of it (CAT-5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from gongshu import changes
from gongshu.accounts.models import Organization
from gongshu.db import Base
from gongshu.timeutil import utcnow

SHARING_ATTRS = ("unconditional", "conditional", "none")  # CAT-4
OPENING_ATTRS = ("unconditional", "conditional", "none")  # CAT-4
FIELD_TYPES = ("string", "integer", "decimal", "date", "datetime", "boolean")
FIELD_KINDS = ("resident_id", "uscc", "region_code")  # AGG-3
UPDATE_FREQUENCIES = ("实时", "每日", "每周", "每月", "每季度", "每年", "不定期")
SECURITY_GRADES = (
    "一般数据-1级",
    "一般数据-2级",
    "一般数据-3级",
    "一般数据-4级",
    "重要数据",
    "核心数据",
)
# Discovery's grade codes (GB/T 43697-2024) as the catalog writes them.
SHARING_LABELS = {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"}
OPENING_LABELS = {"unconditional": "无条件开放", "conditional": "有条件开放", "none": "不予开放"}
STATUS_LABELS = {"draft": "草稿", "submitted": "待审核", "approved": "已发布", "returned": "已退回"}
GRADE_LABELS = {
    "general-1": "一般数据-1级",
    "general-2": "一般数据-2级",
    "general-3": "一般数据-3级",
    "general-4": "一般数据-4级",
    "important": "重要数据",
    "core": "核心数据",
}
FIELD_TYPE_LABELS = {
    "string": "文本",
    "integer": "整数",
    "decimal": "数值",
    "date": "日期",
    "datetime": "日期时间",
    "boolean": "是/否",
}
FIELD_KIND_LABELS = {
    "resident_id": "居民身份证号",
    "uscc": "统一社会信用代码",
    "region_code": "行政区划代码",
}
LOAD_POLICY_LABELS = {"quarantine": "隔离错误行，加载其余数据", "reject": "整批拒绝"}
LOAD_POLICIES = ("quarantine", "reject")
STATUSES = ("draft", "submitted", "approved", "returned")
# Who the entry is for: the public catalog, an enterprise's own catalog (CAT-8), or an
# operator's data product made in the sandbox (OPR-4). Only "public" is in the public catalog.
SCOPES = ("public", "enterprise", "product")


class CatalogEntry(Base):
    __tablename__ = "catalog_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    tier: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    fields: Mapped[list] = mapped_column(default=list)
    update_frequency: Mapped[str] = mapped_column(String(16), default="")
    security_grade: Mapped[str] = mapped_column(String(16), default="")
    sharing_attr: Mapped[str] = mapped_column(String(16), default="conditional")
    sharing_conditions: Mapped[str | None] = mapped_column(Text)
    no_share_basis: Mapped[str | None] = mapped_column(Text)
    opening_attr: Mapped[str] = mapped_column(String(16), default="none")
    opening_conditions: Mapped[str | None] = mapped_column(Text)
    formats: Mapped[list] = mapped_column(default=list)
    themes: Mapped[list] = mapped_column(default=list)
    load_policy: Mapped[str] = mapped_column(String(16), default="quarantine")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version_no: Mapped[int] = mapped_column(default=1)
    published_version: Mapped[int | None]
    # Whose data authority must act next: the entry's own tier while submitted,
    # then each tier above in turn until it merges into the provincial catalog (CAT-2).
    review_region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    provincial: Mapped[bool] = mapped_column(default=False)
    last_comment: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(16), default="public", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    provider: Mapped[Organization] = relationship(lazy="joined")


class EntryVersion(Base):
    __tablename__ = "catalog_entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    version_no: Mapped[int]
    action: Mapped[str] = mapped_column(String(32))
    snapshot: Mapped[dict]
    actor: Mapped[str] = mapped_column(String(96))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _open_values(published_version: object, opening_attr: object, scope: object) -> bool:
    # opendata.entries.is_open on values; a scope not yet set is the column's default
    return published_version is not None and opening_attr != "none" and scope in ("public", None)


def public_change(session: Session, entry: CatalogEntry) -> bool:
    """Whether a flushed change of ``entry`` can change what the public sees: the entry
    is open or was open before the change, or it is being deleted. A draft, a returned
    or submitted entry never published, an enterprise's own entry: not."""
    if entry in session.deleted:
        return True
    state = inspect(entry)
    now, before = [], []
    for key in ("published_version", "opening_attr", "scope"):
        history = state.attrs[key].history
        value = getattr(entry, key)
        now.append(value)
        before.append(history.deleted[0] if history.deleted else value)
    return _open_values(*now) or (state.has_identity and _open_values(*before))


# The open catalog's caches (opendata/search.py, ckan.py, resolve.py) are keyed by
# "catalog": changes the public can see. The full-text index, which holds every entry
# (the clerk's catalog search finds drafts), by "catalog_text".
changes.watch("catalog", CatalogEntry, when=public_change)
changes.watch("catalog_text", CatalogEntry)
# which entries each change touched, so the text index reads only those again
changes.journal("catalog_text", CatalogEntry)
