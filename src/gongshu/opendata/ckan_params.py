"""The parameters of each CKAN action, with their bounds (issue 20 item 6).

One table says what each action takes. ``check`` refuses a value of the wrong
type or past its bound before the action runs, with CKAN's validation error
naming the parameter, as the platform's own API does with its schemas; and
``openapi`` describes the actions from the same table (``/api/3/openapi.json``),
so a client, and schemathesis in the tests, know the bounds in advance.
Parameters an action does not know are ignored, as CKAN does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gongshu.errors import InvalidInput
from gongshu.web.bounds import MAX_INT

MAX_ROWS = 1000
MAX_RECORDS = 32000
MAX_LIST = 100
BOOLEAN_WORDS = ("true", "false", "1", "0", "")


@dataclass(frozen=True)
class Param:
    kind: str  # int | text | list | bool | object
    description: str
    low: int = 0
    high: int = MAX_INT
    max_length: int = 200

    def schema(self) -> dict:
        if self.kind == "int":
            return {"type": "integer", "minimum": self.low, "maximum": self.high}
        if self.kind == "bool":
            return {"type": "boolean"}
        if self.kind == "list":  # a comma-separated or JSON list in a query string
            return {"type": "string", "maxLength": self.max_length}
        if self.kind == "object":  # a JSON object in a query string
            return {"type": "string", "maxLength": self.max_length}
        return {"type": "string", "maxLength": self.max_length}


ID = Param("text", "数据集或资源的名称、编号", max_length=200)
PARAMS: dict[str, dict[str, Param]] = {
    "package_search": {
        "q": Param("text", "检索词", max_length=200),
        "fq": Param("text", "过滤条件，如 organization:org-1 res_format:CSV", max_length=1000),
        "rows": Param("int", "每页条数", high=MAX_ROWS),
        "start": Param("int", "起始位置"),
        "sort": Param("text", "排序，如 metadata_modified desc", max_length=100),
        "facet.field": Param("list", "分面字段（逗号分隔或 JSON 列表）", max_length=1000),
        "facet.limit": Param("int", "每个分面的条数，-1 为全部", low=-1),
    },
    "package_show": {"id": ID, "name": ID},
    "package_list": {
        "offset": Param("int", "起始位置"),
        "limit": Param("int", "条数", high=MAX_INT),
    },
    "organization_list": {"all_fields": Param("bool", "是否返回完整信息")},
    "organization_show": {
        "id": ID,
        "include_datasets": Param("bool", "是否包含其开放的数据集"),
    },
    "resource_show": {"id": ID},
    "datastore_search": {
        "resource_id": ID,
        "q": Param("text", "检索词（每个词须出现在某一字段）", max_length=200),
        "filters": Param("object", "字段到取值的 JSON 对象", max_length=10_000),
        "fields": Param("list", "返回的字段（逗号分隔或 JSON 列表）", max_length=10_000),
        "sort": Param("text", "排序，如 字段名 desc", max_length=1000),
        "offset": Param("int", "起始行"),
        "limit": Param("int", "行数", high=MAX_RECORDS),
        "records_format": Param("text", "objects 或 lists", max_length=10),
    },
}


def _fail(name: str, why: str) -> InvalidInput:
    return InvalidInput(f"参数 {name} {why}")


def _check_one(name: str, spec: Param, value: Any) -> None:
    if value is None:
        return
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _fail(name, "必须是整数")
        try:
            number = int(value)
        except ValueError:
            raise _fail(name, "必须是整数") from None
        if not spec.low <= number <= spec.high:
            raise _fail(name, f"须在 {spec.low} 到 {spec.high} 之间")
    elif spec.kind == "bool":
        if not isinstance(value, bool) and str(value).lower() not in BOOLEAN_WORDS:
            raise _fail(name, "必须是 true 或 false")
    elif spec.kind == "list":
        items = value if isinstance(value, list) else None
        if items is None:
            if not isinstance(value, str | int | float):
                raise _fail(name, "必须是列表或逗号分隔的文字")
            if len(str(value)) > spec.max_length:
                raise _fail(name, f"不能超过 {spec.max_length} 个字符")
            return
        if len(items) > MAX_LIST or any(
            not isinstance(i, str | int | float) or len(str(i)) > 200 for i in items
        ):
            raise _fail(name, f"须为不超过 {MAX_LIST} 项的文字列表")
    elif spec.kind == "object":
        if isinstance(value, str):
            if len(value) > spec.max_length:
                raise _fail(name, f"不能超过 {spec.max_length} 个字符")
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError:
                raise _fail(name, "必须是 JSON 对象") from None
        if not isinstance(value, dict) or len(value) > MAX_LIST:
            raise _fail(name, f"必须是不超过 {MAX_LIST} 个字段的 JSON 对象")
    else:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _fail(name, "必须是文字")
        if len(str(value)) > spec.max_length:
            raise _fail(name, f"不能超过 {spec.max_length} 个字符")


def check(action: str, params: dict[str, Any]) -> None:
    """Refuse a parameter of the wrong type or past its bound (a CKAN validation error)."""
    for name, spec in PARAMS.get(action, {}).items():
        _check_one(name, spec, params.get(name))


def openapi(base_title: str) -> dict:
    """An OpenAPI document of the CKAN actions (GET with query parameters)."""
    error = {
        "type": "object",
        "required": ["success", "error"],
        "properties": {
            "help": {"type": "string"},
            "success": {"const": False},
            "error": {
                "type": "object",
                "required": ["__type", "message"],
                "properties": {"__type": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    }
    ok = {
        "type": "object",
        "required": ["success", "result"],
        "properties": {"help": {"type": "string"}, "success": {"const": True}, "result": {}},
    }

    def answer(description: str, schema: dict, retry: bool = False) -> dict:
        out: dict = {
            "description": description,
            "content": {"application/json": {"schema": schema}},
        }
        if retry:
            out["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        return out

    paths = {}
    for action, params in PARAMS.items():
        responses = {
            "200": answer("成功", ok),
            "400": answer("参数有误", error),
            "404": answer("对象不存在", error),
            "429": answer("请求过于频繁", error, retry=True),
            "503": answer("服务繁忙", error, retry=True),
        }
        if action == "datastore_search":
            responses |= {"401": answer("需要 API 令牌", error), "403": answer("无权读取", error)}
        paths[f"/api/3/action/{action}"] = {
            "get": {
                "operationId": action,
                "summary": action,
                "parameters": [
                    {"name": n, "in": "query", "description": p.description, "schema": p.schema()}
                    for n, p in params.items()
                ],
                "responses": responses,
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{base_title} CKAN 接口", "version": "3"},
        "paths": paths,
    }
