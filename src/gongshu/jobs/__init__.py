"""Durable background jobs in the metadata database (DESIGN.md "Jobs").

Importing this package only defines the ``jobs`` table and the registry;
nothing touches a database.
"""

from __future__ import annotations

from gongshu.capability import Capability
from gongshu.jobs.models import ACTIVE, DONE, FAILED, QUEUED, RUNNING, STATUSES, Job
from gongshu.jobs.service import (
    BACKOFF_BASE,
    DuplicateHandler,
    JobLost,
    JobNotFound,
    UnknownJobKind,
    claim,
    complete,
    counts,
    describe_error,
    enqueue,
    fail,
    get_job,
    heartbeat,
    list_jobs,
    requeue_stale,
)
from gongshu.jobs.worker import (
    Handler,
    Periodic,
    Worker,
    every,
    handler,
    load_handler_modules,
    periodic_tasks,
    register,
    registered,
    unregister,
)

CAPABILITY = Capability(
    name="jobs",
    label="后台任务",
    models=("gongshu.jobs.models",),
    commands=(("worker", "gongshu.jobs.commands:worker"),),
)

__all__ = [
    "CAPABILITY",
    "ACTIVE",
    "BACKOFF_BASE",
    "DONE",
    "FAILED",
    "QUEUED",
    "RUNNING",
    "STATUSES",
    "DuplicateHandler",
    "Handler",
    "Periodic",
    "Job",
    "JobLost",
    "JobNotFound",
    "UnknownJobKind",
    "Worker",
    "claim",
    "complete",
    "counts",
    "describe_error",
    "enqueue",
    "every",
    "fail",
    "get_job",
    "handler",
    "heartbeat",
    "list_jobs",
    "load_handler_modules",
    "periodic_tasks",
    "register",
    "registered",
    "requeue_stale",
    "unregister",
]
