"""CKAN-shaped dictionaries for open entries: a package per open entry (name =
the resource code's slug), a resource per entry pointing at its latest dataset
version (``datastore_active: true``), organizations for providers, and the
datastore page read through the egress door."""

from __future__ import annotations

import re
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.config import Settings
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.errors import InvalidInput
from gongshu.opendata.entries import all_open, get_open, latest_versions, slug
from gongshu.opendata.errors import NoOpenGrant, OpenEntryNotFound
from gongshu.opendata.licence import licence_for
from gongshu.opendata.service import active_grant
from gongshu.storage.models import DatasetVersion

__all__ = ["all_open", "slug"]

ACCESS = {"unconditional": "无条件开放", "conditional": "有条件开放"}
TYPES = {"integer": "int", "decimal": "numeric", "date": "date", "datetime": "timestamp"}


def org_name(org: Organization) -> str:
    return f"org-{org.id}"


def organization(org: Organization, package_count: int = 0) -> dict[str, Any]:
    return {
        "id": org_name(org),
        "name": org_name(org),
        "title": org.name,
        "display_name": org.name,
        "description": "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "package_count": package_count,
        "extras": [{"key": "region_code", "value": org.region_code}],
    }


def providers(session: Session) -> list[tuple[Organization, int]]:
    """Organizations that provide at least one open entry, with their counts."""
    stmt = (
        select(Organization, func.count(CatalogEntry.id))
        .join(CatalogEntry, CatalogEntry.provider_org_id == Organization.id)
        .where(CatalogEntry.published_version.is_not(None), CatalogEntry.opening_attr != "none")
        .where(CatalogEntry.scope == "public")
        .group_by(Organization.id)
        .order_by(Organization.id)
    )
    return [(o, n) for o, n in session.execute(stmt).unique().all()]


def versions_for(session: Session, entries: list[CatalogEntry]) -> dict[int, DatasetVersion]:
    return latest_versions(session, [e.id for e in entries])


def resource_id(entry: CatalogEntry) -> str:
    return f"gs-resource-{entry.id}"


def resource(entry: CatalogEntry, version: DatasetVersion) -> dict[str, Any]:
    return {
        "id": resource_id(entry),
        "package_id": f"gs-entry-{entry.id}",
        "name": f"{entry.name}（第 {version.version_no} 版）",
        "description": entry.summary,
        "format": "CSV",
        "mimetype": "text/csv",
        "url": f"/open/{entry.id}",
        "url_type": "datastore",
        "datastore_active": True,
        "state": "active",
        "size": version.bytes,
        "version": version.version_no,
        "rows": version.rows,
        "hash": f"sha256:{version.sha256}",
        "created": version.created_at.isoformat(),
        "last_modified": version.created_at.isoformat(),
        "position": 0,
    }


def package(entry: CatalogEntry, version: DatasetVersion | None) -> dict[str, Any]:
    resources = [resource(entry, version)] if version is not None else []
    extras = {
        "resource_code": entry.resource_code,
        "opening_attr": entry.opening_attr,
        "access_rights": ACCESS.get(entry.opening_attr, entry.opening_attr),
        "opening_conditions": entry.opening_conditions or "",
        "update_frequency": entry.update_frequency,
        "region_code": entry.region_code,
        "security_grade": entry.security_grade,
        "formats": ",".join(entry.formats or []),
    }
    return {
        "id": f"gs-entry-{entry.id}",
        "name": slug(entry.resource_code),
        "title": entry.name,
        "notes": entry.summary,
        "type": "dataset",
        "state": "active",
        "private": False,
        "license_id": "other-open" if entry.opening_attr == "unconditional" else "other-closed",
        "license_title": licence_for(entry.opening_attr).title,  # as the entry page states it
        "metadata_created": entry.created_at.isoformat(),
        "metadata_modified": entry.updated_at.isoformat(),
        "version": str(entry.published_version),
        "url": f"/open/{entry.id}",
        "owner_org": org_name(entry.provider),
        "organization": organization(entry.provider),
        "maintainer": entry.provider.name,
        "num_resources": len(resources),
        "resources": resources,
        "num_tags": len(entry.themes or []),
        "tags": [{"name": t, "display_name": t, "state": "active"} for t in entry.themes or []],
        "groups": [],
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "fields": entry.fields,
    }


def resource_target(session: Session, rid: str) -> tuple[CatalogEntry, DatasetVersion]:
    m = re.fullmatch(r"gs-resource-(\d+)", (rid or "").strip())
    if m is None:
        raise OpenEntryNotFound(f"资源不存在：{rid}")
    entry = get_open(session, int(m.group(1)))
    version = storage.newest(session, entry.id)
    if version is None:
        raise OpenEntryNotFound(f"该目录尚无数据：{rid}")
    return entry, version


def read_page(
    session: Session,
    entry: CatalogEntry,
    *,
    user: User,
    settings: Settings,
    offset: int,
    limit: int,
    filters: list[dict] | None = None,
    search: str | None = None,
    order_by: list[tuple[str, bool]] | None = None,
    latest: DatasetVersion | None = None,
    grant: Grant | None = None,
) -> dict[str, Any]:
    """One page of rows through the egress door under the user's open grant.

    ``filters``, ``search`` and ``order_by`` apply to the whole table before the
    page (the door compiles them); ``total`` counts the matching rows. ``latest``:
    the entry's newest version, when the caller has just read it; ``grant``: the
    user's active open grant, when the caller has just resolved it.
    """
    grant = grant or active_grant(session, entry.id, user)
    if grant is None:
        raise NoOpenGrant("没有该数据的有效开放授权：请先在开放门户声明用途或签署开放利用协议")
    out = egress.deliver(
        session,
        grant.id,
        actor=user,
        fmt="json",
        datasets_dir=settings.datasets_dir,
        work_dir=settings.data_dir / "egress",
        secret=settings.secret_key,
        offset=offset,
        limit=limit,
        filters=filters,
        search=search,
        order_by=order_by,
        row_ids=True,
        count=True,
        in_memory=True,
        latest=latest,
    )
    data = orjson.loads(out.content or b"")
    data["grant"], data["delivery"], data["total"] = grant, out.delivery.token, out.total
    data["offset"], data["limit"] = offset, limit
    return data


def ckan_filters(filters: dict[str, Any]) -> list[dict]:
    """CKAN's ``filters`` (field -> value or list of values) as the door's conditions."""
    out = []
    for name, wanted in filters.items():
        if isinstance(wanted, list):
            out.append({"column": name, "op": "in", "value": [str(w) for w in wanted] or [""]})
        else:
            out.append({"column": name, "op": "=", "value": str(wanted)})
    return out


def ckan_sort(sort: str) -> list[tuple[str, bool]]:
    """``"a desc, b"`` as ``[("a", True), ("b", False)]``."""
    keys = []
    for term in [t.strip() for t in sort.split(",") if t.strip()]:
        name, _, direction = term.partition(" ")
        direction = direction.strip().lower()
        if direction not in ("", "asc", "desc"):
            raise InvalidInput(f"排序方向仅支持 asc、desc：{term}")
        keys.append((name.strip('"'), direction == "desc"))
    return keys


def datastore_result(
    entry: CatalogEntry,
    version: DatasetVersion,
    page: dict[str, Any],
    *,
    fields: list[str],
    records_format: str,
) -> dict[str, Any]:
    """Shape a delivered page as CKAN's datastore_search result."""
    columns: list[str] = page["columns"]
    offset, limit = page["offset"], page["limit"]
    for name in fields:
        if name not in columns:
            raise InvalidInput(f"字段不存在或未授权：{name}")
    rows = [dict(zip(columns, row, strict=True)) for row in page["rows"]]
    shown = [c for c in columns if not fields or c in fields or c == "_id"]
    types = {f["name"]: TYPES.get(f.get("type", ""), "text") for f in entry.fields}
    rid = resource_id(entry)
    result: dict[str, Any] = {
        "resource_id": rid,
        "fields": [{"id": c, "type": "int" if c == "_id" else types.get(c, "text")} for c in shown],
        "records_format": records_format,
        "offset": offset,
        "limit": limit,
        "total": page["total"],
        "total_was_estimated": False,
        "_links": {
            "start": f"/api/3/action/datastore_search?resource_id={rid}",
            "next": f"/api/3/action/datastore_search?resource_id={rid}&offset={offset + limit}",
        },
    }
    if records_format == "lists":
        result["records"] = [[r[c] for c in shown] for r in rows]
    else:
        result["records"] = [{c: r[c] for c in shown} for r in rows]
    result["delivery"] = page["delivery"]
    return result
