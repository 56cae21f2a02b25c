"""API shapes of the sharing workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gongshu.web.bounds import Days, Id, LongText, Metric, Name, Names, Text


class SharingApplicationCreate(BaseModel):
    entry_id: Id
    reason: Text
    legal_basis: Text
    use: Name
    scenario: Name
    requested_fields: Names
    term_days: Days = Field(description="使用期限（天），批准后即授权有效期")


class SharingApplicationPublic(BaseModel):
    id: int
    entry_id: int
    entry_name: str
    provider_org: str
    applicant_org: str
    reason: str
    legal_basis: str
    use: str
    scenario: str
    requested_fields: list[str]
    term_days: int
    status: str
    received_at: datetime
    deadline: datetime | None
    deadline_warning: str | None = Field(description="期限无法计算时的提示")
    workdays_left: int | None
    answered_at: datetime | None
    answer: str | None
    refusal_basis: str | None
    referred_region_code: str | None
    decided_at: datetime | None
    grant_id: int | None


class ApprovalCreate(BaseModel):
    conditions: Text
    policy: Text | None = None
    row_filter: Annotated[list[dict], Field(max_length=100)] | None = None


class RefusalCreate(BaseModel):
    reasons: Text
    legal_basis: Text


class ReferralCreate(BaseModel):
    note: Text


class DecisionCreate(BaseModel):
    decision: Literal["approve", "refuse"]
    conditions: Text = ""
    reasons: Text = ""
    legal_basis: Text = ""


class ErrorReportCreate(BaseModel):
    entry_id: Id
    field: Name | None = None
    row_description: Text
    description: Text
    found_at: datetime


class ErrorReportAnswerCreate(BaseModel):
    status: Literal["corrected", "not_error"]
    answer: Text


class ErrorReportPublic(BaseModel):
    id: int
    entry_id: int
    field: str | None
    row_description: str
    description: str
    found_at: datetime
    reported_at: datetime
    report_due: datetime | None
    late: bool | None
    status: str
    answer: str | None
    answered_at: datetime | None


class EffectCreate(BaseModel):
    text: LongText
    metrics: Annotated[dict[Name, Metric], Field(max_length=100)] = Field(default_factory=dict)


class EffectPublic(BaseModel):
    id: int
    application_id: int
    text: str
    metrics: dict
    reported_at: datetime


class OverdueApplicationPublic(BaseModel):
    agency: str
    tier: str
    pending: int
    overdue: int
    unknown_deadline: int
    answered_late: int
    open_error_reports: int
    overdue_ids: list[int]
