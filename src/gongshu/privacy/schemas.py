from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from gongshu.web.bounds import MAX_ITEMS, Code, Days, Id, Name, Names, Text, TextMap


class ConsentCreate(BaseModel):
    id_number: Code = Field(
        description="The person's resident ID number; only its keyed hash is kept"
    )
    purpose: Name
    method: Code = Field(description="Processing method, e.g. 收集、存储、提供")
    data_kinds: Names = Field(description="Entity codes (shared/spec/entities.md)")
    on: date = Field(description="The day the consent takes effect")
    evidence: Text = ""
    guardian_id_number: Text | None = Field(None, description="Required under 14 (PIP-1)")
    abroad_recipient_org_id: Id | None = Field(
        None, description="A separate consent to provide abroad to this recipient (XBR-3)"
    )
    operator_org_id: Id | None = Field(
        None,
        description="Consent to providing to this operator for authorized operation (OPR-3)",
    )


class WithdrawalCreate(BaseModel):
    on: date
    reason: Text = ""


class ConsentCheckCreate(BaseModel):
    id_number: Code
    purpose: Name
    method: Code
    data_kinds: Names
    on: date


class ConsentLookupCreate(BaseModel):
    id_number: Code


class ConsentPublic(BaseModel):
    id: int
    action: str
    purpose: str
    method: str
    data_kinds: list[str]
    sensitive: bool
    minor_under_14: bool
    effective_on: date
    withdraws_id: int | None
    abroad_recipient_org_id: int | None = None
    operator_org_id: int | None = None
    deletion_due: date | None
    retain_until: date
    recorded_at: datetime


class ConsentAnswerPublic(BaseModel):
    valid: bool
    reasons: list[str]
    consent_ids: list[int]


class RightsRequestCreate(BaseModel):
    kind: Code = Field(
        description="access | copy | transfer | correct | supplement | delete | explain"
    )
    id_number: Code = Field(description="Must match the account's verified identity")
    code: Code = Field(description="The one-time code sent to the mobile number on record")
    mobile: Code | None = None
    details: Text = ""
    corrections: TextMap = Field(default_factory=dict)


class RightsCodeCreate(BaseModel):
    id_number: Code = Field(description="Must match the account's verified identity")


class RightsCodePublic(BaseModel):
    sent_to: str = Field(description="The mobile number on record, masked (138****1234)")


class MatchPublic(BaseModel):
    id: int
    entry_id: int
    provider_org_id: int
    columns: list[str]
    rows: int
    outcome: str | None
    note: str | None
    grant_id: int | None
    new_version_id: int | None
    handled_at: datetime | None


class RightsRequestPublic(BaseModel):
    id: int
    kind: str
    status: str
    details: str
    received_at: datetime
    deadline: datetime | None
    deadline_warning: str | None
    answered_at: datetime | None
    answer: str | None
    matches: list[MatchPublic] = []


class MatchUpdate(BaseModel):
    action: Code = Field(description="delete | correct | export | explain | refuse")
    note: Text = ""
    values: TextMap | None = None
    mobile_confirmed: bool = Field(
        False, description="Matched by mobile only: the provider confirmed it is the person's"
    )


class AuthorizationCreate(BaseModel):
    org_id: Id = Field(description="The enterprise or operator the person authorizes (PIP-10)")
    purpose: Name
    days: Days = 90


class NoticeCreate(BaseModel):
    functions: Annotated[list[dict], Field(max_length=MAX_ITEMS)] = Field(
        description='[{"function": str, "kinds": [entity codes]}]'
    )
    retention: Text
    rights_channels: Text
    third_party_code: Code
    third_parties: Text
    risks: Text
    complaints: Text
    officer_contact: Name


class NoticePublic(BaseModel):
    id: int
    org_id: int
    version_no: int
    sections: dict
    published_at: datetime


class LegalHoldCreate(BaseModel):
    dataset_version_id: Id = Field(description="The stored version to keep as it is")
    reason: Text = Field(description="Why, and on what legal basis")
    case_reference: Text = Field(description="Case or document number")
    expires_at: datetime = Field(description="When the hold ends (no zone: Beijing time)")


class LegalHoldPublic(BaseModel):
    id: int
    dataset_version_id: int
    entry_id: int
    reason: str
    case_reference: str
    expires_at: datetime
    placed_by: str
    placed_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None
