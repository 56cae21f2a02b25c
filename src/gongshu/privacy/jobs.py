"""The ``privacy.erasure`` job: a person's rows out of every stored version (PIP-4, PIP-6).

The payload names the erasure's id only; the datasets directory and the instance
secret (which opens the erasure's sealed lookup) come from the settings the worker
was given (``jobs.attach``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu.jobs import NoInstance, handler, instance_datasets_dir
from gongshu.jobs.worker import SETTINGS
from gongshu.privacy import erasure
from gongshu.privacy.erasure import ERASURE_JOB


@handler(ERASURE_JOB, label="删除个人信息")
def run_erasure(session: Session, payload: dict) -> dict:
    settings = session.info.get(SETTINGS)
    if settings is None:
        raise NoInstance("删除任务需要实例的密钥，工作进程未提供实例配置")
    done = erasure.run(
        session,
        int(payload["erasure"]),
        datasets_dir=instance_datasets_dir(session, payload),
        secret=settings.secret_key,
    )
    if done is None:
        return {"skipped": "erasure gone"}
    return {"erasure": done.id, "status": done.status, "files": len(done.rewritten)}
