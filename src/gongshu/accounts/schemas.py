from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from gongshu.web.bounds import Days, Name, Secret


class TokenCreate(BaseModel):
    username: Name
    password: Secret
    name: Name = Field("api", description="What the token is for")
    days: Days = Field(90, ge=1, le=365)


class TokenPublic(BaseModel):
    token: str
    token_id: int
    expires_at: datetime


class OrgPublic(BaseModel):
    id: int
    name: str
    kind: str
    region_code: str


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    scopes: list[str]
    org: OrgPublic | None
