"""The grading rules in force, versioned (issue 3 item 3; SEC-1, SEC-2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base
from gongshu.timeutil import utcnow


class GradingRulesVersion(Base):
    """One edit of the grading rules by an administrator; the newest is in force."""

    __tablename__ = "grading_rules_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_no: Mapped[int] = mapped_column(unique=True)
    text: Mapped[str] = mapped_column(Text)  # the TOML, exactly as saved
    comment: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
