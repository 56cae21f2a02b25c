"""Every capability's statutory clocks, gathered for the lifecycle in ``gongshu.workdays``.

``gongshu.workdays`` knows no capability; each capability declares its clocks as
a module-level ``CLOCKS`` tuple. The two callers that refresh them all (entering
a year's schedule, and the job worker's periodic refresh) take them from here.
Interim: the ``Capability`` registry will carry each package's ``clocks``.
"""

from __future__ import annotations

import importlib
import logging

from sqlalchemy.orm import Session

from gongshu.jobs.worker import every
from gongshu.workdays import ClockSpec, Filled, refresh

log = logging.getLogger(__name__)

#: Modules that declare ``CLOCKS``, in the order they are refreshed.
CLOCK_MODULES = (
    "gongshu.exchange.clocks",
    "gongshu.privacy.clock",
    "gongshu.compliance.clocks",
    "gongshu.quality.corrections",
    "gongshu.market.disputes",
)

#: How often the job worker refreshes every clock (seconds); it also does on start.
REFRESH_EVERY = 300.0


def all_clock_specs() -> tuple[ClockSpec, ...]:
    """Every ``ClockSpec`` the capabilities declare."""
    specs: list[ClockSpec] = []
    for name in CLOCK_MODULES:
        specs.extend(importlib.import_module(name).CLOCKS)
    return tuple(specs)


@every("workdays.refresh", REFRESH_EVERY)
def refresh_all(session: Session) -> list[Filled]:
    """Fill every NULL deadline a schedule now covers (CLK-4); flushes, never commits.

    The job worker runs this on start and every ``REFRESH_EVERY`` seconds, so a
    ``chinese_calendar`` upgrade covering a new year, or a schedule entered by
    another process, reaches the deadlines without any page writing on a GET.
    """
    filled = refresh(session, all_clock_specs())
    if filled:
        log.info("已补算期限 (deadlines filled)：%d", len(filled))
    return filled
