"""A listed product's provenance: the passed sandbox run it was made from (OPR-4, TRD-3).

Only products derived in the sandbox are listed and sold; an entry's raw rows never
are. The product's stored version names its run (registration/provenance.py); here the
run itself must be on record as passed, sealed with its hash, made into this very
product, and the entries it read recorded. The result is what the listing keeps and
shows, and what every order checks again before its grant is created.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.catalog.models import CatalogEntry
from gongshu.market.errors import NotTradable
from gongshu.operation.models import SandboxRun
from gongshu.registration.provenance import recorded

RAW_REFUSED = (
    "“{name}”（{code}）不是在平台沙箱内加工生成的数据产品，原始数据不得挂牌交易；"
    "只有经沙箱加工、记录来源的数据产品才能挂牌"
)


def trace(session: Session, entry: CatalogEntry) -> dict | None:
    """The product's provenance as the records prove it, or None when they do not."""
    stored = recorded(session, entry)
    if stored is None:
        return None
    run = session.scalar(
        select(SandboxRun).where(
            SandboxRun.id == stored["sandbox_run"],
            SandboxRun.product_entry_id == entry.id,
            SandboxRun.status == "passed",
        )
    )
    if run is None or not run.result_sha256 or sorted(run.sources) != sorted(stored["sources"]):
        return None
    sources = [session.get(CatalogEntry, i) for i in run.sources]
    return {
        "sandbox_run": run.id,
        "agreement": run.agreement_id,
        "run_at": run.created_at.isoformat(),
        "sql": run.sql,
        "result_sha256": run.result_sha256,
        "rows": run.rows,
        "dataset_version": stored["dataset_version"],
        "version_no": stored["version_no"],
        "sha256": stored["sha256"],
        "sources": [
            {"id": e.id, "name": e.name, "resource_code": e.resource_code}
            for e in sources
            if e is not None
        ],
    }


def reasons(session: Session, entry: CatalogEntry) -> list[tuple[str, str]]:
    """``(code, message)`` for a product without proven provenance; empty otherwise."""
    if trace(session, entry) is not None:
        return []
    return [("not_sandbox_product", RAW_REFUSED.format(name=entry.name, code=entry.resource_code))]


def require(session: Session, entry: CatalogEntry) -> dict:
    """The provenance, or the refusal that names the entry (fails closed)."""
    found = trace(session, entry)
    if found is None:
        message = RAW_REFUSED.format(name=entry.name, code=entry.resource_code)
        raise NotTradable(
            message,
            detail={
                "reasons": [{"rule": "OPR-4", "code": "not_sandbox_product", "message": message}]
            },
        )
    return found
