"""Request and response bodies of the compliance API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, model_validator

from gongshu.web.bounds import Code, Count, Id, Ids, Name, Names, Text, TextMap


class IncidentCreate(BaseModel):
    title: Name
    system: Name
    found_at: dt.datetime = Field(description="发现时间；不带时区的按北京时间，不能晚于当前时间")
    occurred_at: dt.datetime = Field(
        description="发生时间；8 小时和 72 小时时限自此起算；不带时区的按北京时间"
    )
    place: Text = ""
    kind: Code
    grade: Code = Field("general", description="general | large | major | especially_major")
    personal_info: bool = False
    important_data: bool = False
    people_affected: Count = 0
    harm_done: bool = False
    harm: Text = ""
    measures: Text = ""
    ransom_amount: Text | None = None
    ransom_method: Code | None = None
    ransom_date: dt.date | None = None
    trend: Text = ""
    cause: Text = ""
    clue_attacker: Text = ""
    clue_path: Text = ""
    clue_vulnerability: Text = ""
    further_measures: Text = ""
    help_needed: Text = ""
    scene_protection: Text = ""


class ReportPublic(BaseModel):
    code: str
    title: str
    recipient: str
    basis: str
    due_at: dt.datetime | None
    due_warning: str | None
    submitted_at: dt.datetime | None


class IncidentPublic(BaseModel):
    id: int
    title: str
    org: str
    found_at: dt.datetime
    occurred_at: dt.datetime | None
    grade: str
    handled_at: dt.datetime | None
    reports: list[ReportPublic]
    next_due: str | None


class IncidentUpdate(BaseModel):
    handled_at: dt.datetime


class IncidentFactsUpdate(BaseModel):
    grade: Code | None = None
    personal_info: bool | None = None
    important_data: bool | None = None
    people_affected: Count | None = None
    harm_done: bool | None = None


class CrossborderCheckCreate(BaseModel):
    important_data: bool = False
    ciio: bool = False
    total_people: Count = 0
    people_abroad: Count = 0
    sensitive_abroad: Count = 0


class CrossborderRoutePublic(BaseModel):
    route: str
    label: str
    reasons: list[str]
    notes: list[str]


class ObligationProfileCreate(BaseModel):
    kind: Code = "agency"
    platform_classes: Names = []
    users: Count = 0
    market_value_yi: Count = 0
    people: Count = 0
    sensitive_people: Count = 0
    ciio: bool = False
    important_data: bool = False
    important_identified_on: dt.date | None = None
    provides_abroad: bool = False
    services: Names = []
    service_started_on: dt.date | None = None


class ObligationPublic(BaseModel):
    code: str
    title: str
    rule: str
    due: dt.date | None
    due_note: str | None


class PointUpdate(BaseModel):
    result: Text
    findings: Text = Field("", description="发现的问题；结论为“不适用”时写明理由")

    @model_validator(mode="after")
    def _reason_for_not_applicable(self) -> PointUpdate:
        if self.result == "not_applicable" and not self.findings.strip():
            raise ValueError("结论为“不适用”时须在“发现的问题”中写明不适用的理由")
        return self


class PointPublic(BaseModel):
    point: int
    result: str
    findings: str
    live: dict | None


class AssessmentCreate(BaseModel):
    activity: Name
    covers: Names = Field(description="provision | entrusted | automated | publication | ...")
    answers: TextMap = Field(description="purpose, impact, measures, recipients")
    conclusion: Text
    assessed_on: dt.date
    valid_until: dt.date | None = None
    entry_ids: Ids = Field(default_factory=list, description="Own catalog entries assessed")
    purposes: Names = Field(
        default_factory=list, description="Uses assessed: sharing | open | operation | market"
    )


class AssessmentPublic(BaseModel):
    id: int
    activity: str
    covers: list[str]
    entry_ids: list[int] = []
    purposes: list[str] = []
    assessed_on: dt.date
    valid_until: dt.date
    keep_until: dt.date


class AuditPublic(BaseModel):
    id: int
    subject: str
    trigger: str
    conductor: str
    institution: str | None
    due_at: dt.datetime | None
    due_warning: str | None
    signed_at: dt.datetime | None
    report_sm3: str | None = None
    submitted_at: dt.datetime | None = None
    points: list[PointPublic]


class AuditOrder(BaseModel):
    """A regulator's order to audit an organization in its area (AUD-2)."""

    subject_org_id: Id
    institution_org_id: Id
    institution_head: Text
    lead_name: Text
    scope: Code = ""


class SignatureCreate(BaseModel):
    role: Code = Field(description="lead（合规审计负责人）| head（专业机构负责人）")


class SignatureCheck(BaseModel):
    role: str
    ok: bool
    message: str
