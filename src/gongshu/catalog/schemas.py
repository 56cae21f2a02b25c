"""Catalog API shapes: what a client sends and what it gets back."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class FieldCreate(BaseModel):
    name: str = Field(description="字段名称")
    type: str = Field("string", description="string/integer/decimal/date/datetime/boolean")
    description: str = ""
    kind: str | None = Field(None, description="resident_id / uscc / region_code (AGG-3)")
    required: bool = False


class EntryCreate(BaseModel):
    resource_code: str
    name: str
    summary: str = ""
    fields: list[FieldCreate] = []
    update_frequency: str = ""
    security_grade: str = ""
    sharing_attr: str = "conditional"
    sharing_conditions: str | None = None
    no_share_basis: str | None = None
    opening_attr: str = "none"
    opening_conditions: str | None = None
    formats: list[str] = []
    themes: list[str] = []
    load_policy: str = "quarantine"


class EntryUpdate(BaseModel):
    resource_code: str | None = None
    name: str | None = None
    summary: str | None = None
    fields: list[FieldCreate] | None = None
    update_frequency: str | None = None
    security_grade: str | None = None
    sharing_attr: str | None = None
    sharing_conditions: str | None = None
    no_share_basis: str | None = None
    opening_attr: str | None = None
    opening_conditions: str | None = None
    formats: list[str] | None = None
    themes: list[str] | None = None
    load_policy: str | None = None


class EntryReviewCreate(BaseModel):
    comment: str | None = None


class EntryPublic(BaseModel):
    id: int
    resource_code: str
    name: str
    summary: str
    provider: str
    tier: str
    region_code: str
    fields: list[dict]
    update_frequency: str
    security_grade: str
    sharing_attr: str
    sharing_conditions: str | None
    no_share_basis: str | None
    opening_attr: str
    opening_conditions: str | None
    formats: list[str]
    status: str
    version_no: int
    published_version: int | None
    provincial: bool
    review_region_code: str | None
    last_comment: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, entry) -> EntryPublic:  # noqa: ANN001
        data = {k: getattr(entry, k) for k in cls.model_fields if k != "provider"}
        return cls(provider=entry.provider.name, **data)


class EntryPagePublic(BaseModel):
    total: int
    entries: list[EntryPublic]
    facets: dict[str, list[dict]]


class VersionPublic(BaseModel):
    version_no: int
    action: str
    actor: str
    comment: str | None
    created_at: datetime
    snapshot: dict
