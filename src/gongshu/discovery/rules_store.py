"""Which grading rules are in force: the shipped defaults (version 0) until an
administrator saves a new version. Every saved version stays; the ledger
records who changed what."""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.discovery.grading import DEFAULT_RULES, Rules, default_rules
from gongshu.discovery.models import GradingRulesVersion
from gongshu.errors import InvalidInput
from gongshu.ledger import record

if TYPE_CHECKING:
    from gongshu.accounts.models import User


def rules_in_force(session: Session) -> tuple[Rules, int]:
    row = session.scalar(
        select(GradingRulesVersion).order_by(GradingRulesVersion.version_no.desc()).limit(1)
    )
    if row is None:
        return default_rules(), 0
    return Rules.from_dict(tomllib.loads(row.text), source=f"v{row.version_no}"), row.version_no


def text_in_force(session: Session) -> tuple[str, int]:
    row = session.scalar(
        select(GradingRulesVersion).order_by(GradingRulesVersion.version_no.desc()).limit(1)
    )
    if row is None:
        return DEFAULT_RULES.read_text(encoding="utf-8"), 0
    return row.text, row.version_no


def save_rules(
    session: Session, text: str, *, actor: User, comment: str = ""
) -> GradingRulesVersion:
    """Check and store a new version; a mistake names the line or the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"分级规则不是有效的 TOML：{exc}") from exc
    Rules.from_dict(raw, source="提交的规则")
    latest = session.scalar(select(func.max(GradingRulesVersion.version_no))) or 0
    row = GradingRulesVersion(
        version_no=latest + 1, text=text, comment=comment.strip(), actor=actor.actor
    )
    session.add(row)
    session.flush()
    record(
        session,
        "discovery.rules_saved",
        actor=actor.actor,
        subject="grading_rules",
        payload={
            "version": row.version_no,
            "comment": row.comment,
            "rules_version": str(raw.get("version")),
        },
    )
    return row


def versions(session: Session) -> list[GradingRulesVersion]:
    return list(
        session.scalars(select(GradingRulesVersion).order_by(GradingRulesVersion.version_no.desc()))
    )
