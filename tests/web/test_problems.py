"""Request validation errors in Chinese, naming the field (issue 17 item 5)."""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationError

from gongshu.web.problems import say


class Form(BaseModel):
    name: str = Field(max_length=3)
    age: int
    size: int = Field(ge=1)


def _errors(**data) -> list[str]:  # noqa: ANN003
    try:
        Form(**data)
    except ValidationError as exc:
        return [say(e) for e in exc.errors()]
    return []


def test_each_problem_is_said_in_chinese_with_its_field() -> None:
    assert _errors(name="abcd", size=0) == [
        "name：不能超过 3 个字符",
        "age：必填，不能为空",
        "size：不能小于 1",
    ]
    assert _errors(name="a", age="x", size=1) == ["age：应为整数"]


def test_our_own_chinese_validator_text_is_kept() -> None:
    err = {
        "type": "value_error",
        "loc": ("body", "day"),
        "msg": "Value error, 日期无效：2026-02-30",
    }
    assert say(err) == "day：日期无效：2026-02-30"
    assert say({"type": "value_error", "loc": ("x",), "msg": "Value error, bad"}) == "x：取值无效"
