"""Request and response shapes of the registration API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from gongshu.web.bounds import Code, Id, Ids, Name, Names, Text


class RegistrationCreate(BaseModel):
    kind: Code
    name: Name
    description: Text
    processing_summary: Text = ""
    source_entry_ids: Ids = []
    rights: Names = []
    acting_for: Text | None = None
    price_mode: Code = "self"
    price_yuan: Text | None = None
    price_unit: Code | None = None
    fee_item: Text | None = None
    data_entry_id: Id | None = None
    holder_authorization: Text | None = None
    important_data_consent: Text | None = None


class RegistrationUpdate(BaseModel):
    name: Name | None = None
    description: Text | None = None
    processing_summary: Text | None = None
    source_entry_ids: Ids | None = None
    rights: Names | None = None
    acting_for: Text | None = None
    price_mode: Code | None = None
    price_yuan: Text | None = None
    price_unit: Code | None = None
    fee_item: Text | None = None
    data_entry_id: Id | None = None
    holder_authorization: Text | None = None
    important_data_consent: Text | None = None


class RegistrationReviewCreate(BaseModel):
    comment: Text = ""


class RegistrationPublic(BaseModel):
    id: int
    code: str | None
    kind: str
    name: str
    description: str
    processing_summary: str
    registrant_org_id: int
    source_entry_ids: list[int]
    rights: list[str]
    acting_for: str | None
    price_mode: str
    price_yuan: str | None
    price_unit: str | None
    fee_item: str | None
    data_entry_id: int | None
    holder_authorization: str | None
    important_data_consent: str | None
    status: str
    version_no: int
    approved_version_no: int | None
    last_comment: str | None
    updated_at: datetime


class RegistryRecordPublic(BaseModel):
    """What anyone may see of a registration: its approved version."""

    code: str
    valid: bool
    kind: str
    name: str
    registrant: str
    rights: list[str]
    acting_for: str | None
    description: str
    processing_summary: str
    sources: list[dict]
    issuer: str | None
    approved_version_no: int
    approved_at: datetime
    pending_change: bool
