"""API shapes for authorized operation and procurement."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from gongshu.web.bounds import Id, Name, Text


class ItemPublic(BaseModel):
    entry_id: int
    policy: str
    columns: list[str] | None
    basis: str
    consent: str | None
    instrument_id: int | None = None  # the rights holder's authorization on record (OPR-3)
    grant_id: int


class AgreementPublic(BaseModel):
    id: int
    operator_org_id: int
    authority_org_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    revenue_method: str
    security_requirements: str
    disposal: str
    risk_report_name: str
    risk_report_sha256: str
    status: str
    disposal_confirmed_at: datetime | None
    items: list[ItemPublic]


class RunCreate(BaseModel):
    sql: Text


class RunPublic(BaseModel):
    id: int
    agreement_id: int
    status: str
    kind: str | None
    rule: str | None
    reason: str | None
    rows: int
    columns: list[str]
    sources: list[int]
    min_group: int | None
    smallest_group: int | None
    duration_ms: int
    product_entry_id: int | None
    created_at: datetime


class ProductCreate(BaseModel):
    name: Name
    summary: Text


class ProductPublic(BaseModel):
    entry_id: int
    resource_code: str
    name: str
    scope: str
    grant_id: int


class DisposalCreate(BaseModel):
    note: Text


class ProcurementCreate(BaseModel):
    data_wanted: Text
    purpose: Name
    legal_basis: Text
    entry_id: Id | None = None
    budget: Text | None = None


class ProcurementReviewCreate(BaseModel):
    approve: bool
    reason: Text
    entry_id: Id | None = None  # the entry procured, when the request names none


class ProcurementPublic(BaseModel):
    id: int
    agency_org_id: int
    entry_id: int | None
    data_wanted: str
    purpose: str
    legal_basis: str
    budget: str | None
    status: str
    review_reason: str | None
    reviewed_by: str | None
    grant_id: int | None = None
    created_at: datetime
