"""Where a product's data comes from, as the records show it (OPR-4, TRD-3).

The operator never provides raw public data to third parties: only a product derived
in the sandbox may be registered as a data product. Such a product is a catalog entry
with ``scope = "product"`` whose stored version records the sandbox run it came from,
the entries that run read and the hash of its stored file (operation/products.py).
Anything else named as a product's data (an entry's raw version, a typed file) is
refused here, before the registration exists. The market checks the run itself
(market/provenance.py), since the run's table belongs to a package of this layer.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.catalog.models import CatalogEntry
from gongshu.errors import InvalidInput


class NotSandboxProduct(InvalidInput):
    """The data named for a product was not derived in the sandbox."""


def recorded(session: Session, entry: CatalogEntry) -> dict | None:
    """The provenance recorded on the product's newest version, or None if none is."""
    if entry.scope != "product":
        return None
    version = storage.newest(session, entry.id)
    if version is None:
        return None
    report = version.report or {}
    run, sources = report.get("sandbox_run"), report.get("sources")
    if not isinstance(run, int) or not sources or not version.sha256:
        return None
    return {
        "sandbox_run": run,
        "sources": [int(s) for s in sources],
        "dataset_version": version.id,
        "version_no": version.version_no,
        "sha256": version.sha256,
    }


def require_product_data(session: Session, entry: CatalogEntry, sources: list[int]) -> list[int]:
    """The source entries of a product whose data is ``entry``; refused unless ``entry``
    is a sandbox product with its provenance recorded. ``sources`` (the registrant's)
    must include every entry the run read; empty, they are taken from the record."""
    trace = recorded(session, entry)
    if trace is None:
        raise NotSandboxProduct(
            f"产品数据目录“{entry.name}”（{entry.resource_code}）不是在平台沙箱内加工生成的"
            "数据产品，原始数据不得登记为数据产品；请先在授权运营沙箱中加工，"
            "再以生成的数据产品登记"
        )
    missing = [s for s in trace["sources"] if s not in sources]
    if sources and missing:
        names = "、".join(
            f"{e.name}（{e.resource_code}）"
            for e in (session.get(CatalogEntry, i) for i in missing)
            if e is not None
        )
        raise NotSandboxProduct(f"来源数据须包含加工该产品时读取的全部目录，缺少：{names}")
    return list(dict.fromkeys([*sources, *trace["sources"]]))
