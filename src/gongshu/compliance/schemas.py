"""Request and response bodies of the compliance API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, model_validator


class IncidentCreate(BaseModel):
    title: str
    system: str
    found_at: dt.datetime = Field(description="发现时间；不带时区的按北京时间，不能晚于当前时间")
    occurred_at: dt.datetime = Field(
        description="发生时间；8 小时和 72 小时时限自此起算；不带时区的按北京时间"
    )
    place: str = ""
    kind: str
    grade: str = Field("general", description="general | large | major | especially_major")
    personal_info: bool = False
    important_data: bool = False
    people_affected: int = 0
    harm_done: bool = False
    harm: str = ""
    measures: str = ""
    ransom_amount: str | None = None
    ransom_method: str | None = None
    ransom_date: dt.date | None = None
    trend: str = ""
    cause: str = ""
    clue_attacker: str = ""
    clue_path: str = ""
    clue_vulnerability: str = ""
    further_measures: str = ""
    help_needed: str = ""
    scene_protection: str = ""


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
    grade: str | None = None
    personal_info: bool | None = None
    important_data: bool | None = None
    people_affected: int | None = None
    harm_done: bool | None = None


class CrossborderCheckCreate(BaseModel):
    important_data: bool = False
    ciio: bool = False
    total_people: int = 0
    people_abroad: int = 0
    sensitive_abroad: int = 0


class CrossborderRoutePublic(BaseModel):
    route: str
    label: str
    reasons: list[str]
    notes: list[str]


class ObligationProfileCreate(BaseModel):
    kind: str = "agency"
    platform_classes: list[str] = []
    users: int = 0
    market_value_yi: int = 0
    people: int = 0
    sensitive_people: int = 0
    ciio: bool = False
    important_data: bool = False
    important_identified_on: dt.date | None = None
    provides_abroad: bool = False
    services: list[str] = []
    service_started_on: dt.date | None = None


class ObligationPublic(BaseModel):
    code: str
    title: str
    rule: str
    due: dt.date | None
    due_note: str | None


class PointUpdate(BaseModel):
    result: str
    findings: str = Field("", description="发现的问题；结论为“不适用”时写明理由")

    @model_validator(mode="after")
    def _reason_for_not_applicable(self) -> PointUpdate:
        if self.result == "not_applicable" and not self.findings.strip():
            raise ValueError("结论为“不适用”时须在 findings 中写明不适用的理由")
        return self


class PointPublic(BaseModel):
    point: int
    result: str
    findings: str
    live: dict | None


class AssessmentCreate(BaseModel):
    activity: str
    covers: list[str] = Field(description="provision | entrusted | automated | publication | ...")
    answers: dict[str, str] = Field(description="purpose, impact, measures, recipients")
    conclusion: str
    assessed_on: dt.date
    valid_until: dt.date | None = None


class AssessmentPublic(BaseModel):
    id: int
    activity: str
    covers: list[str]
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
    points: list[PointPublic]
