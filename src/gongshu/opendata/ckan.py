"""The CKAN Action API (issue 5 item 4): /api/3/action/{name} and /api/action/{name}
(ckanapi's default), GET with query parameters or POST with a JSON body, in
CKAN's envelope and error shapes so existing clients work unchanged.

Metadata actions are public. ``datastore_search`` needs the caller's API token
(``Authorization: <token>`` as CKAN clients send it, or ``Bearer <token>``) and
an open grant for that user; rows come only from the egress door
(``egress.deliver(fmt="json")``), one delivery and ledger entry per call.

``filters`` (field -> value or list), ``q`` (every word in some field) and
``sort`` apply to the whole table before ``offset``/``limit``: the door
compiles them into its parameterized DuckDB query, ANDed with the grant's row
filter, and counts the matching rows for ``total`` (cached per version and
predicate). They may use only fields the grant's masking policy leaves in the
clear (filtering on a masked field would reveal what the mask hides), and
they compare the stored values (a watermarked amount may differ by one unit in
its last place). ``_id`` is the row's position in the stored version.
"""

from __future__ import annotations

import asyncio
import functools
import json
import weakref
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import changes
from gongshu.accounts.deps import CallerInside, current_user
from gongshu.accounts.models import Organization, User
from gongshu.egress import formats
from gongshu.errors import GongshuError, InvalidInput, NotFound, Unauthorized
from gongshu.opendata import ckan_params, packages, resolve
from gongshu.opendata.ckan_params import MAX_RECORDS, MAX_ROWS
from gongshu.opendata.entries import find_by_name
from gongshu.opendata.search import FACETS, catalog_stamp, search
from gongshu.web.bounds import MAX_INT, Name
from gongshu.web.deps import unit

router = APIRouter(tags=["ckan"], include_in_schema=False)

ERROR_TYPES = {
    400: "Validation Error",
    401: "Authorization Error",
    403: "Authorization Error",
    404: "Not Found Error",
    409: "Validation Error",
}
# CKAN fq/facet field -> portal facet key
CKAN_FIELDS = {
    "organization": "provider",
    "owner_org": "provider",
    "tags": "theme",
    "groups": "theme",
    "res_format": "format",
    "region": "region",
    "update_frequency": "update_frequency",
    "opening_attr": "opening_attr",
    "name": "name",
    "id": "id",
}
CKAN_SORTS = {
    "name": "name",
    "title_string": "title",
    "metadata_modified": "modified",
    "metadata_created": "created",
    "score": "relevance",
}


class ActionError(GongshuError):
    """Unknown action (400 in CKAN: 'Bad request - Action name not known')."""

    status = 400


def _help(request: Request, name: str) -> str:
    return f"{request.base_url}api/3/action/help_show?name={name}"


def _params(request: Request, body: Any) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    if body is not None:
        if not isinstance(body, dict):
            raise InvalidInput("请求体必须是 JSON 对象")
        params.update(body)
    return params


def _int(params: dict, key: str, default: int, *, low: int = 0, high: int = MAX_INT) -> int:
    raw = params.get(key, default)
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{key} 必须是整数：{raw}") from exc
    if not low <= value <= high:
        raise InvalidInput(f"{key} 超出范围：{value}")
    return value


def _list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        try:
            return [str(v) for v in json.loads(text)]
        except ValueError as exc:
            raise InvalidInput(f"无法解析列表参数：{text}") from exc
    return [v.strip() for v in text.split(",") if v.strip()]


def parse_fq(fq: str) -> dict[str, list[str]]:
    """``field:value`` terms separated by spaces (values may be quoted); repeated
    fields are OR-ed, different fields AND-ed, as in Solr for simple filters."""
    import shlex

    out: dict[str, list[str]] = {}
    try:
        terms = shlex.split(fq or "")
    except ValueError as exc:
        raise InvalidInput(f"fq 语法错误：{fq}") from exc
    for term in terms:
        term = term.lstrip("+")
        if term.upper() in ("AND", "*:*"):
            continue
        field, sep, value = term.partition(":")
        if not sep or field not in CKAN_FIELDS:
            raise InvalidInput(f"不支持的 fq 条件：{term}")
        value = value.strip('"')
        key = CKAN_FIELDS[field]
        if key == "provider" and value.startswith("org-"):
            value = value[4:]
        out.setdefault(key, []).append(value)
    return out


# ---------------------------------------------------------------- actions


# Whole package_search results per process until the catalog or its data changes
# (gongshu.changes): harvesters and portals repeat the same queries.
_RESULTS = changes.Cache("catalog", size=512)


def package_search(session: Session, params: dict, user: User | None) -> dict:
    """The same for everyone (open entries only), so one cached answer serves all."""
    key = tuple(sorted((k, str(v)) for k, v in params.items() if not k.startswith("__")))
    compute = lambda: _package_search(session, params)  # noqa: E731
    return _RESULTS.get(session, key, compute, stamp=catalog_stamp(session))


def _package_search(session: Session, params: dict) -> dict:
    rows = _int(params, "rows", 10, high=MAX_ROWS)
    start = _int(params, "start", 0)
    q = str(params.get("q") or "").strip()
    if q in ("*:*", "*"):
        q = ""
    filters = parse_fq(str(params.get("fq") or ""))
    sort_field, _, direction = str(params.get("sort") or "name asc").partition(" ")
    sort = CKAN_SORTS.get(sort_field.strip(), "name")
    facet_fields = _list(params.get("facet.field"))
    result = search(
        session,
        q=q,
        filters=filters,
        limit=rows,
        offset=start,
        sort=sort,
        descending=direction.strip().lower() == "desc",
        facets=[CKAN_FIELDS.get(f) for f in facet_fields],
    )
    limit = _int(params, "facet.limit", 50, low=-1)
    search_facets, facets = {}, {}
    for field in facet_fields:
        key = CKAN_FIELDS.get(field)
        if key not in FACETS:
            raise InvalidInput(f"不支持的 facet.field：{field}")
        items = result.facets.get(key, [])
        items = items if limit < 0 else items[:limit]
        names = [(f"org-{v}" if key == "provider" else v, label, n) for v, label, n in items]
        facets[field] = {name: n for name, _, n in names}
        search_facets[field] = {
            "title": field,
            "items": [{"name": n, "display_name": lbl, "count": c} for n, lbl, c in names],
        }
    versions = packages.versions_for(session, result.entries)
    return {
        "count": result.total,
        "results": [packages.package(e, versions.get(e.id)) for e in result.entries],
        "sort": f"{sort_field} {direction or 'asc'}",
        "facets": facets,
        "search_facets": search_facets,
    }


def package_show(session: Session, params: dict, user: User | None) -> dict:
    entry = find_by_name(session, str(params.get("id") or params.get("name") or ""))
    return packages.package(entry, packages.versions_for(session, [entry]).get(entry.id))


def package_list(session: Session, params: dict, user: User | None) -> list[str]:
    names = sorted(packages.slug(e.resource_code) for e in packages.all_open(session))
    offset = _int(params, "offset", 0)
    if params.get("limit") in (None, ""):
        return names[offset:]
    return names[offset : offset + _int(params, "limit", 0)]


def organization_list(session: Session, params: dict, user: User | None) -> list:
    orgs = packages.providers(session)
    if str(params.get("all_fields", "")).lower() in ("true", "1"):
        return [packages.organization(o, n) for o, n in orgs]
    return [packages.org_name(o) for o, _ in orgs]


def organization_show(session: Session, params: dict, user: User | None) -> dict:
    key = str(params.get("id") or "")
    for org, n in packages.providers(session):
        if key in (packages.org_name(org), str(org.id), org.name):
            out = packages.organization(org, n)
            if str(params.get("include_datasets", "")).lower() in ("true", "1"):
                found = search(session, filters={"provider": [str(org.id)]}, limit=MAX_ROWS)
                versions = packages.versions_for(session, found.entries)
                out["packages"] = [packages.package(e, versions.get(e.id)) for e in found.entries]
            return out
    if session.scalar(select(Organization.id).where(Organization.name == key)) is None:
        raise NotFound(f"组织不存在：{key}")
    raise NotFound(f"该单位没有开放数据：{key}")


def resource_show(session: Session, params: dict, user: User | None) -> dict:
    entry, version = packages.resource_target(session, str(params.get("id") or ""))
    return packages.resource(entry, version)


def datastore_search(session: Session, params: dict, user: User | None) -> dict:
    if user is None:
        raise Unauthorized("datastore_search 需要 API 令牌")
    entry, version = resolve.open_resource(session, str(params.get("resource_id") or ""))
    records_format = str(params.get("records_format") or "objects")
    if records_format not in ("objects", "lists"):
        raise InvalidInput(f"records_format 仅支持 objects、lists：{records_format}")
    filters = params.get("filters") or {}
    if isinstance(filters, str):
        try:
            filters = json.loads(filters)
        except ValueError as exc:
            raise InvalidInput("filters 必须是 JSON 对象") from exc
    if not isinstance(filters, dict):
        raise InvalidInput("filters 必须是 JSON 对象")
    fields = _list(params.get("fields"))
    for name in list(filters) + fields:
        if name not in {c["name"] for c in version.columns} and name != "_id":
            raise InvalidInput(f"字段不存在或未授权：{name}")
    page = packages.read_page(
        session,
        entry,
        user=user,
        settings=params["__settings"],
        offset=_int(params, "offset", 0),
        limit=_int(params, "limit", 100, low=0, high=MAX_RECORDS),
        filters=packages.ckan_filters(filters),
        search=str(params.get("q") or "").strip() or None,
        order_by=packages.ckan_sort(str(params.get("sort") or "")),
        latest=version,
        grant=resolve.open_grant(session, entry, user),
    )
    return packages.datastore_result(
        entry, version, page, fields=fields, records_format=records_format
    )


ACTIONS: dict[str, Callable[[Session, dict, User | None], Any]] = {
    f.__name__: f
    for f in (
        package_search,
        package_show,
        package_list,
        organization_list,
        organization_show,
        resource_show,
        datastore_search,
    )
}


def _token_user(session: Session, request: Request) -> User | None:
    """CKAN clients send the bare token in Authorization (or X-CKAN-API-Key); the
    portal's pages call with their session cookie."""
    raw = request.headers.get("authorization") or request.headers.get("x-ckan-api-key") or ""
    raw = raw.strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    if not raw:
        return current_user(request, session)
    found = resolve.api_user(session, raw)
    if found is None:
        raise Unauthorized("API 令牌无效、已过期或已撤销")
    return found


# CKAN calls are short and many: each runs whole on one worker thread of this small
# pool, instead of taking turns with other requests on the default pool of 40 (threads
# that each release the GIL at every SQLite statement slow each other down: 36-39
# datastore_search calls a second with 8 or 40 threads, 63-67 with one; see
# docs/benchmarks.md). Long exports and loads stay on the default pool.
API_THREADS = 1
# One pool per event loop (a server process has one; tests start several).
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _threads() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None:  # made inside the loop that waits on it
        limiter = _LIMITERS[loop] = anyio.CapacityLimiter(API_THREADS)
    return limiter


@router.get("/api/3/openapi.json")
def openapi(_caller: Annotated[None, Depends(CallerInside())]) -> Response:
    """The CKAN actions, their parameters and bounds, as an OpenAPI document."""
    return _Answer(ckan_params.openapi("公数 Gongshu"))


@router.get("/api/3/action/{name}")
@router.post("/api/3/action/{name}")
@router.get("/api/action/{name}")
@router.post("/api/action/{name}")
async def action(
    name: Name,
    request: Request,
    _caller: Annotated[None, Depends(CallerInside())],
    body: Annotated[Any, Body()] = None,
) -> Response:
    """A CKAN action; metadata is public, datastore_search checks token and grant inside."""
    return await anyio.to_thread.run_sync(
        functools.partial(_answer, request, name, body), limiter=_threads()
    )


def _answer(request: Request, name: str, body: Any) -> Response:
    """One action in one unit of work: read-only for metadata; read-first for
    datastore_search, whose delivery and ledger entry are durable before rows leave."""
    try:
        with unit(request, "read_first" if name == "datastore_search" else "read") as session:
            action = ACTIONS.get(name)
            if action is None:
                raise ActionError(f"Bad request - Action name not known: {name}")
            params = _params(request, body)
            ckan_params.check(name, params)
            params["__settings"] = request.app.state.settings
            result = action(session, params, _token_user(session, request))
    except GongshuError as exc:
        error = {"__type": ERROR_TYPES.get(exc.status, "Internal Error"), "message": exc.message}
        return _Answer(
            {"help": _help(request, name), "success": False, "error": error},
            status_code=exc.status,
        )
    return _Answer({"help": _help(request, name), "success": True, "result": result})


class _Answer(JSONResponse):
    """CKAN's envelope, encoded by orjson (a 100-record page in a tenth of the time)."""

    def render(self, content: Any) -> bytes:
        return formats.dumps(content)
