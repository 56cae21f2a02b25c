"""The working-day clock's periodic task: every capability's statutory clocks refreshed
by the job worker (CLK-4). The clocks come from the registry (``Capability.clocks``):
``gongshu.workdays`` knows no capability."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from gongshu.capability import installed
from gongshu.jobs.worker import every
from gongshu.workdays.lifecycle import Filled, refresh

log = logging.getLogger(__name__)

#: How often the job worker refreshes every clock (seconds); it also does on start.
REFRESH_EVERY = 300.0


@every("workdays.refresh", REFRESH_EVERY)
def refresh_all(session: Session) -> list[Filled]:
    """Fill every NULL deadline a schedule now covers (CLK-4); flushes, never commits.

    The job worker runs this on start and every ``REFRESH_EVERY`` seconds, so a
    ``chinese_calendar`` upgrade covering a new year, or a schedule entered by
    another process, reaches the deadlines without any page writing on a GET.
    """
    filled = refresh(session, installed().clocks())
    if filled:
        log.info("已补算期限：%d", len(filled))
    return filled
