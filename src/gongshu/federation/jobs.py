"""The sync tick of a lower node, in the job worker beside the server (no restart
needed to pick up a new directory; a partition heals on the next tick)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from gongshu.federation import feed
from gongshu.jobs import every
from gongshu.jobs.worker import SETTINGS

log = logging.getLogger(__name__)
SYNC_SECONDS = 1.0


@every("federation.sync", SYNC_SECONDS)
def sync(session: Session) -> None:
    settings = session.info.get(SETTINGS)
    if settings is None:
        return
    result = feed.sync(session, settings)
    if result.get("state") not in ("ok", "not-a-lower-node"):
        log.info("联邦同步：%s", result)
