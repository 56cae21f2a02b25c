"""Catalog API shapes: what a client sends and what it gets back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from gongshu.web.bounds import MAX_ITEMS, Code, Name, Names, Text


class FieldCreate(BaseModel):
    name: Name = Field(description="字段名称")
    type: Code = Field("string", description="string/integer/decimal/date/datetime/boolean")
    description: Text = ""
    kind: Code | None = Field(None, description="resident_id / uscc / region_code (AGG-3)")
    required: bool = False


class EntryCreate(BaseModel):
    resource_code: Code
    name: Name
    summary: Text = ""
    fields: Annotated[list[FieldCreate], Field(max_length=MAX_ITEMS)] = []
    update_frequency: Code = ""
    security_grade: Code = ""
    sharing_attr: Code = "conditional"
    sharing_conditions: Text | None = None
    no_share_basis: Text | None = None
    opening_attr: Code = "none"
    opening_conditions: Text | None = None
    formats: Names = []
    themes: Names = []
    load_policy: Text = "quarantine"


class EntryUpdate(BaseModel):
    resource_code: Code | None = None
    name: Name | None = None
    summary: Text | None = None
    fields: Annotated[list[FieldCreate], Field(max_length=MAX_ITEMS)] | None = None
    update_frequency: Code | None = None
    security_grade: Code | None = None
    sharing_attr: Code | None = None
    sharing_conditions: Text | None = None
    no_share_basis: Text | None = None
    opening_attr: Code | None = None
    opening_conditions: Text | None = None
    formats: Names | None = None
    themes: Names | None = None
    load_policy: Text | None = None


class EntryReviewCreate(BaseModel):
    comment: Text | None = None


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
