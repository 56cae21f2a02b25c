"""The ``jobs`` table: durable background work kept in the metadata database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base
from gongshu.timeutil import utcnow

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STATUSES = (QUEUED, RUNNING, DONE, FAILED)
#: States in which a job still holds its ``dedupe_key``.
ACTIVE = (QUEUED, RUNNING)

DEFAULT_MAX_ATTEMPTS = 3


class Job(Base):
    """One unit of background work.

    ``queued`` -> ``running`` (claimed by one worker) -> ``done``, or back to
    ``queued`` with a later ``run_after`` after a failure, until ``max_attempts``
    claims have failed and it ends ``failed``. ``error`` always says why.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        # The claim query: oldest runnable job first.
        Index("ix_jobs_status_run_after", "status", "run_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=DEFAULT_MAX_ATTEMPTS)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # Held only while the job is queued or running, then released (set to NULL)
    # so the same work can be enqueued again later.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    def __repr__(self) -> str:
        return (
            f"<Job {self.id} {self.kind} {self.status} attempt {self.attempts}/{self.max_attempts}>"
        )
