"""Every capability's tables, imported so ``Base.metadata`` is complete.

Alembic's env.py and the test harness call ``import_all_models``; add a
capability's ``models`` module here when it gets tables.
"""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "gongshu.changes",
    "gongshu.ledger.models",
    "gongshu.accounts.models",
    "gongshu.catalog.models",
    "gongshu.datasets.models",
    "gongshu.egress.models",
    "gongshu.jobs.models",
    "gongshu.discovery.models",
    "gongshu.workdays",
    "gongshu.opendata.models",
    "gongshu.exchange.models",
    "gongshu.operation.models",
    "gongshu.compliance.models",
    "gongshu.registration.models",
    "gongshu.market.models",
    "gongshu.privacy.models",
    "gongshu.quality.models",
)

for _name in MODEL_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a capability not written yet
        if exc.name is None or not _name.startswith(exc.name):
            raise
