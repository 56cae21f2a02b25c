"""The OpenAPI document as the API really answers (issue 20 item 6).

FastAPI documents a route's success answer and its 422; the platform's own
answers come from elsewhere: the permission check (401, 403), the domain errors
(400, 404, 409), the rate limit of the open interfaces (429) and admission
control (503), all with one error body. Each operation gets the codes that its
declared permission, its path and its method make possible, with that body;
FastAPI's 422 schema is replaced by the one the error handler really sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gongshu.accounts.deps import PermissionCheck
from gongshu.accounts.permissions import PUBLIC
from gongshu.web.ratelimit import LIMITED_PREFIXES

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "机器可读的错误代码"},
        "message": {"type": "string", "description": "中文说明，指明出错的字段或行"},
        "detail": {"description": "补充信息（如逐字段的校验结果）"},
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
DESCRIPTIONS = {
    "400": "输入有误",
    "401": "未登录或令牌无效",
    "403": "无权执行此操作",
    "404": "对象不存在",
    "409": "与当前状态冲突",
    "422": "请求格式或字段取值无效",
    "429": "请求过于频繁，请按 Retry-After 稍后再试",
    "503": "服务繁忙，请按 Retry-After 稍后再试",
}
RETRY_AFTER = {"Retry-After": {"description": "等待的秒数", "schema": {"type": "integer"}}}


# Sign-in is throttled per account and per address (accounts.throttle).
THROTTLED_PREFIXES = ("/api/v1/auth/",)


def _scope(route: Any) -> str | None:  # noqa: ANN401 - an APIRoute
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, PermissionCheck):
            return dep.call.scope
        stack.extend(dep.dependencies)
    return None


def error_codes(path: str, method: str, scope: str | None) -> list[str]:
    """The error statuses an operation can answer, from what decides them."""
    codes = ["400", "422", "503"]
    if scope is not None and scope != PUBLIC:
        codes += ["401", "403"]
    elif scope == PUBLIC:
        codes += ["401", "403"]  # a public route may still check its caller's grant
    if "{" in path or method != "get":
        codes.append("404")
    if method != "get":
        codes.append("409")
    if path.startswith(LIMITED_PREFIXES) or path.startswith(THROTTLED_PREFIXES):
        codes.append("429")
    return sorted(set(codes))


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the completed document (built once)."""
    from gongshu.app.factory import all_routes

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        doc["components"]["schemas"].pop("HTTPValidationError", None)
        doc["components"]["schemas"].pop("ValidationError", None)
        scopes = {
            (route.path, method.lower()): _scope(route)
            for route in all_routes(app)
            for method in route.methods
        }
        for path, item in doc.get("paths", {}).items():
            for method, operation in item.items():
                responses = operation.setdefault("responses", {})
                declared = [c for c in responses if c[0] in "45" and c in DESCRIPTIONS]
                codes = set(error_codes(path, method, scopes.get((path, method)))) | set(declared)
                for code in sorted(codes):
                    answer = {
                        "description": DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ERROR_REF}},
                    }
                    if code in ("429", "503"):
                        answer["headers"] = RETRY_AFTER
                    responses[code] = answer
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
