"""Request and response bodies of the compliance API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from gongshu.web.bounds import Code, Count, Name, Names, Text, TextMap


class IncidentCreate(BaseModel):
    title: Name
    system: Name
    found_at: dt.datetime = Field(description="发现时间；小时时限自此起算 (CLK-2)")
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
    grade: str
    handled_at: dt.datetime | None
    reports: list[ReportPublic]
    next_due: str | None


class IncidentUpdate(BaseModel):
    handled_at: dt.datetime


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
    findings: Text = ""


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
