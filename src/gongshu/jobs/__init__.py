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
    NoInstance,
    Periodic,
    Worker,
    attach,
    every,
    handler,
    instance_datasets_dir,
    label_of,
    load_handler_modules,
    periodic_tasks,
    register,
    registered,
    unregister,
)

CAPABILITY = Capability(
    name="jobs",
    label="后台任务",
    routers=("gongshu.jobs.pages:pages",),
    models=("gongshu.jobs.models",),
    templates=True,
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
    "NoInstance",
    "Periodic",
    "Job",
    "JobLost",
    "JobNotFound",
    "UnknownJobKind",
    "Worker",
    "attach",
    "instance_datasets_dir",
    "label_of",
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
