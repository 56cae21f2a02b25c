"""Pydantic's validation errors said in Chinese (issue 17 item 5): "use：必填，不能为空",
not "Field required". The field is named as the form or API names it."""

from __future__ import annotations

from typing import Any

SAYINGS = {
    "missing": "必填，不能为空",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数值",
    "float_type": "应为数值",
    "decimal_parsing": "应为数值",
    "bool_parsing": "应为“是”或“否”",
    "bool_type": "应为“是”或“否”",
    "string_type": "应为文字",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不对",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "date_parsing": "应为日期，如 2026-01-31",
    "date_from_datetime_parsing": "应为日期，如 2026-01-31",
    "date_type": "应为日期，如 2026-01-31",
    "datetime_parsing": "应为日期时间，如 2026-01-31 09:30",
    "datetime_from_date_parsing": "应为日期时间，如 2026-01-31 09:30",
    "datetime_type": "应为日期时间，如 2026-01-31 09:30",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "extra_forbidden": "不是可接受的字段",
    "url_parsing": "不是有效的网址",
    "uuid_parsing": "不是有效的编号",
}


def say(err: dict[str, Any]) -> str:
    """One error as "字段：问题" in Chinese; our own validators' Chinese text is kept."""
    where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
    kind = err.get("type", "")
    ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)}
    if kind == "value_error":
        text = str(err.get("msg", "")).removeprefix("Value error, ")
        text = text if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "取值无效"
    elif kind in SAYINGS:
        try:
            text = SAYINGS[kind].format(**ctx)
        except (KeyError, IndexError):
            text = SAYINGS[kind].split("：")[0].split(" {")[0]
    else:
        text = "取值无效"
    return f"{where}：{text}" if where else text
