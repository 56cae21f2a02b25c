"""Column-name hints: Chinese, Traditional, English, pinyin initials, as whole tokens."""

from __future__ import annotations

import pytest

from gongshu.discovery.names import name_hints


@pytest.mark.parametrize(
    ("name", "entity"),
    [
        ("xm", "PERSON_NAME"),
        ("XM", "PERSON_NAME"),
        ("患者姓名", "PERSON_NAME"),
        ("sfzh", "CN_RESIDENT_ID"),
        ("idCard", "CN_RESIDENT_ID"),
        ("身分證字號", "CN_RESIDENT_ID"),
        ("lxdh", "CN_MOBILE"),
        ("聯絡電話", "CN_MOBILE"),
        ("mobile_2", "CN_MOBILE"),
        ("xb", "GENDER"),
        ("性別", "GENDER"),
        ("csrq", "BIRTH_DATE"),
        ("DateOfBirth", "BIRTH_DATE"),
        ("hphm", "LICENSE_PLATE"),
        ("whcd", "EDUCATION"),
        ("宗教信仰", "RELIGION"),
        ("user_name", "ACCOUNT_ID"),
        ("人脸照片", "BIOMETRIC"),
        ("经度", "GEO_COORDINATE"),
    ],
)
def test_hints(name: str, entity: str) -> None:
    assert entity in name_hints(name)


@pytest.mark.parametrize("name", ["xmbh", "col_07", "description", "登记日期", "status", "kkbh"])
def test_no_hint_inside_other_words(name: str) -> None:
    assert name_hints(name) == frozenset()
