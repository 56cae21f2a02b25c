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


def test_a_page_names_the_field_as_people_read_it(people, login) -> None:
    """A form posted without a required field: the page says which in Chinese, never by
    the field's code; a JSON caller still gets the code."""
    from gongshu.web.problems import FIELD_LABELS

    assert say({"type": "missing", "loc": ("body", "name")}, people=True) == "名称：必填，不能为空"
    assert say({"type": "missing", "loc": ("body", "zzz")}, people=True).startswith("表单中的一项")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in v) for v in FIELD_LABELS.values())
    page = login("clerk_county").post("/account/tokens", data={})
    assert page.status_code == 422
    assert "名称" in page.text and "name：" not in page.text
