"""Request and response shapes of the registration API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class RegistrationCreate(BaseModel):
    kind: str
    name: str
    description: str
    processing_summary: str = ""
    source_entry_ids: list[int] = []
    rights: list[str] = []
    acting_for: str | None = None
    price_mode: str = "self"
    price_yuan: str | None = None
    price_unit: str | None = None
    fee_item: str | None = None
    data_entry_id: int | None = None
    holder_authorization: str | None = None
    important_data_consent: str | None = None


class RegistrationUpdate(BaseModel):
    name: str | None = None
    description: str | None = None
    processing_summary: str | None = None
    source_entry_ids: list[int] | None = None
    rights: list[str] | None = None
    acting_for: str | None = None
    price_mode: str | None = None
    price_yuan: str | None = None
    price_unit: str | None = None
    fee_item: str | None = None
    data_entry_id: int | None = None
    holder_authorization: str | None = None
    important_data_consent: str | None = None


class RegistrationReviewCreate(BaseModel):
    comment: str = ""


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
