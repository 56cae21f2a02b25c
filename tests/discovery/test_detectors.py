"""Detector kernels: the real validation rules, on noisy values, vectorized."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from gongshu import identifiers as ids
from gongshu.discovery.detectors import BY_KEY, ColumnView, birth_ymd, resident_id_birth

from .conftest import TODAY, Gen


def valid(key: str, values: list[str | None]) -> list[bool]:
    view = ColumnView.of(pa.array(values, pa.string()), TODAY)
    return [bool(v) for v in BY_KEY[key].kernel(view)[1] & view.nonnull]


def test_resident_id_kernel_agrees_with_gb11643_reference(gen: Gen) -> None:
    values = []
    for i in range(400):
        v = gen.resident_id(gen.birth(1900, 2026))
        if i % 5 == 1:
            v = v[:17] + ("0" if v[17] != "0" else "1")  # wrong check digit
        if i % 5 == 2:
            v = gen.digits(18)
        if i % 5 == 3:
            v = gen.old_id()
        if i % 7 == 0:
            v = v.lower()
        values.append(v)
    values += ["", "   ", "无", "99990019900307123X", "360102199002301234"]
    got = valid("CN_RESIDENT_ID", values)
    want = [ids.is_resident_id(v, today=TODAY) for v in values]
    assert got == want
    assert sum(got) > 200


@pytest.mark.parametrize(
    "wrap",
    [
        lambda v: v,
        lambda v: v.lower(),
        lambda v: f"  {v} ",
        lambda v: f"{v[:6]} {v[6:14]} {v[14:]}",
        lambda v: f"{v[:6]}-{v[6:14]}-{v[14:]}",
        lambda v: "G" + v,  # 学籍号 = G + ID
        lambda v: v + "01",  # ID + sequence number
    ],
)
def test_resident_id_tolerates_register_noise(gen: Gen, wrap) -> None:  # noqa: ANN001
    born = gen.birth()
    value = gen.resident_id(born)
    view = ColumnView.of(pa.array([wrap(value)]), TODAY)
    _, ok, ymd = resident_id_birth(view)
    assert ok[0]
    assert ymd[0] == born.year * 10000 + born.month * 100 + born.day


def test_resident_id_born_after_scan_date_is_invalid(gen: Gen) -> None:
    first = f"110101{TODAY.year + 1}0101123"
    assert valid("CN_RESIDENT_ID", [first + ids.id_check_char(first)]) == [False]


def test_uscc_matches_reference(gen: Gen) -> None:
    values = [gen.uscc() for _ in range(50)] + [gen.uscc()[:17] + "0" for _ in range(50)]
    assert valid("CN_USCC", values) == [ids.is_uscc(v) for v in values]


def test_bank_card_needs_luhn_and_bin(gen: Gen) -> None:
    card = gen.bank_card()
    broken = card[:-1] + str((int(card[-1]) + 1) % 10)
    spaced = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    no_bin = gen.luhn_complete("1" + card[1:-1])
    assert valid("BANK_CARD", [card, spaced, broken, no_bin]) == [True, True, False, False]


def test_imei_and_vin_check_digits(gen: Gen) -> None:
    imei, vin = gen.imei(), gen.vin()
    bad_imei = imei[:-1] + str((int(imei[-1]) + 1) % 10)
    bad_vin = vin[:8] + ("1" if vin[8] != "1" else "2") + vin[9:]
    assert valid("IMEI", [imei, bad_imei]) == [True, False]
    assert valid("VEHICLE_VIN", [vin, vin.lower(), bad_vin, vin.replace(vin[0], "I", 1)]) == [
        True,
        True,
        False,
        False,
    ]


def test_mobile_prefixes_and_formats() -> None:
    values = [
        "13800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "008613800138000",
        "12800138000",
        "14000138000",
        "1380013800",
        "010-62751234",
    ]
    assert valid("CN_MOBILE", values) == [True, True, True, True, False, False, False, False]
    assert valid(
        "CN_LANDLINE", ["010-62751234", "(0571)87654321", "0951-7647925", "13800138000"]
    ) == [
        True,
        True,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        (
            "PASSPORT",
            ["E12345678", "EA1234567", "g12345678"],
            ["E1234567", "EI1234567", "A12345678"],
        ),
        ("HK_MACAO_PERMIT", ["C12345678", "CA1234567"], ["C1234567", "D12345678"]),
        ("EMAIL", ["a.b+c@mail.example.cn"], ["a@b", "@x.cn"]),
        (
            "IP_ADDRESS",
            ["10.0.0.255", "2001:db8::1", "fe80::1ff:fe23:4567:890a"],
            ["256.1.1.1", "1.2.3"],
        ),
        (
            "MAC_ADDRESS",
            ["25-A0-B0-3D-A0-75", "e5:2e:fc:74:cf:00", "0011.2233.4455"],
            ["25-A0-B0-3D-A0"],
        ),
        (
            "LICENSE_PLATE",
            ["京A12345", "粤B·D12345", "桂CD56756", "沪A 1234学"],
            ["京I12345", "A12345", "京A1234"],
        ),
        (
            "GEO_PAIR",
            ["116.397128,39.916527", "39.916527, 116.397128"],
            ["116.3971,89.9165", "16.39,39.91"],
        ),
        ("ICD10", ["J18.9", "I10.x00", "e11.9"], ["J189X", "18.9"]),
    ],
)
def test_format_detectors(key: str, good: list[str], bad: list[str]) -> None:
    assert valid(key, good + bad) == [True] * len(good) + [False] * len(bad)


def test_vocabularies_accept_traditional_and_padding() -> None:
    assert valid("ETHNICITY", [" 漢族 ", "维吾尔族", "汉"]) == [True, True, False]
    assert valid("EDUCATION", ["碩士研究生", "本科", "优秀"]) == [True, True, False]
    assert valid("GENDER", ["男", " 女 ", "m", "female", "1"]) == [True, True, True, True, False]
    assert valid(
        "PERSON_NAME", ["陳大文", "欧阳娜娜", "王 伟", "阿依古丽·买买提", "本科", "高速公路"]
    ) == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert valid(
        "ORG_NAME", ["杭州市第一人民医院", "臺北市立醫院", "精芯信息有限公司", "王建会"]
    ) == [
        True,
        True,
        True,
        False,
    ]
    assert valid("ADDRESS", ["廣東省廣州市天河區體育西路123號", "朝阳区建国路88号", "北京市"]) == [
        True,
        True,
        False,
    ]


def test_dates_parse_common_forms_but_not_amounts() -> None:
    view = ColumnView.of(
        pa.array(
            ["1985-04-19", "1985/4/9", "1985年4月", "19850419", "1987.12", "2026-11-22 10:00", "x"]
        ),
        TODAY,
    )
    ok, ymd = birth_ymd(view)
    assert ok.tolist() == [True, True, True, True, False, True, False]
    assert ymd[:4].tolist() == [19850419, 19850409, 19850401, 19850419]


def test_numeric_and_binary_columns_are_scanned_as_text() -> None:
    lat = ColumnView.of(pa.array([39.916527, 31.2304, None]), TODAY)
    assert BY_KEY["GEO_LAT"].kernel(lat)[1][:2].all()
    blob = ColumnView.of(pa.array([b"\xff\xd8\xff", None], pa.binary()), TODAY)
    assert BY_KEY["BIOMETRIC"].kernel(blob)[1].tolist() == [True, False]
    assert np.asarray(blob.nonnull).tolist() == [True, False]
