"""Masking and generalization operators, and the checked registry."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from gongshu.protect import operators as ops
from gongshu.protect.errors import InvalidParameter, UnknownOperator


def strings(*values: str | None) -> pa.Array:
    return pa.array(list(values), type=pa.string())


@pytest.mark.parametrize(
    ("entity", "value", "expected"),
    [
        ("CN_RESIDENT_ID", "11010519491231002X", "110105********002X"),
        ("CN_MOBILE", "13812345678", "138****5678"),
        ("CN_MOBILE", "+86 138-1234-5678", "138****5678"),
        ("BANK_CARD", "6222 0212 3456 7890", "************7890"),
        ("PERSON_NAME", "张三丰", "张**"),
        ("PERSON_NAME", "欧阳修", "欧阳*"),
        ("PERSON_NAME", "司马相如", "司马**"),
        ("PERSON_NAME", "欧阳", "欧*"),  # two characters: surname 欧, given name 阳
        ("EMAIL", "zhangsan@jx.gov.cn", "z***@jx.gov.cn"),
        ("EMAIL", "no-at-sign", "**********"),
        ("ADDRESS", "浙江省杭州市西湖区文三路100号", "浙江省杭州市西湖区****"),
        ("ADDRESS", "北京市海淀区中关村大街1号", "北京市海淀区****"),
        ("ADDRESS", "火星基地", "****"),
        ("RELIGION", "佛教", "**"),  # no default rule: masked entirely
    ],
)
def test_partial_entity_defaults(entity: str, value: str, expected: str) -> None:
    assert ops.partial(strings(value), entity).to_pylist() == [expected]


def test_partial_keeps_nulls_and_masks_short_values() -> None:
    out = ops.partial(strings("1381", None), "CN_MOBILE").to_pylist()
    assert out == ["****", None]


def test_partial_explicit_keep_and_chunked_input() -> None:
    chunked = pa.chunked_array([strings("abcdefgh"), strings("12345678")])
    out = ops.partial(chunked, keep_start=2, keep_end=1, mask_char="#")
    assert out.to_pylist() == ["ab#####h", "12#####8"]


def test_replace_nullify_truncate() -> None:
    s = strings("甲", None, "乙丙")
    assert ops.replace(s, "已脱敏").to_pylist() == ["已脱敏", None, "已脱敏"]
    assert ops.nullify(pa.array([1, 2])).to_pylist() == [None, None]
    assert ops.nullify(pa.array([1, 2])).type == pa.int64()
    assert ops.truncate(strings("江西省南昌市", None), 3).to_pylist() == ["江西省", None]


def test_generalize_date_month_and_year() -> None:
    s = strings("2023-05-17", "2023/05/07", "20230517", "2023-05-17 08:30:00", "不是日期", None)
    assert ops.generalize_date(s, "month").to_pylist() == [
        "2023-05",
        "2023-05",
        "2023-05",
        "2023-05",
        None,
        None,
    ]
    dates = pa.array([date(1990, 12, 31)], type=pa.date32())
    assert ops.generalize_date(dates, "year").to_pylist() == ["1990"]


def test_age_band() -> None:
    out = ops.age_band(pa.array([0, 29, 35.5, 95, None, -1]), 10, top=90)
    assert out.to_pylist() == ["0-9", "20-29", "30-39", "90+", None, None]
    assert ops.age_band(pa.array([42]), 5).to_pylist() == ["40-44"]


@pytest.mark.parametrize(
    ("address", "city", "district"),
    [
        ("浙江省杭州市西湖区文三路100号", "浙江省杭州市", "浙江省杭州市西湖区"),
        ("北京市通州区新华大街", "北京市", "北京市通州区"),
        ("江西省南昌市南昌县莲塘镇", "江西省南昌市", "江西省南昌市南昌县"),
        (
            "贵州省黔东南苗族侗族自治州凯里市",
            "贵州省黔东南苗族侗族自治州",
            "贵州省黔东南苗族侗族自治州凯里市",
        ),
        ("浙江省杭州市文三路12号某小区", "浙江省杭州市", "浙江省杭州市"),
        ("不知道在哪里", None, None),
    ],
)
def test_generalize_address(address: str, city: str | None, district: str | None) -> None:
    assert ops.generalize_address(strings(address), "city").to_pylist() == [city]
    assert ops.generalize_address(strings(address), "district").to_pylist() == [district]


def test_coordinate_grid_snaps_neighbours_together() -> None:
    lat = pa.array([28.68201, 28.68299, 28.70000, None])
    out = ops.coordinate_grid(lat, 1000).to_pylist()
    assert out[0] == out[1] != out[2]
    assert out[3] is None
    assert abs(out[0] - 28.682) < 1000 / 111_320
    lon = ops.coordinate_grid(pa.array([115.8921]), 1000, axis="lon").to_pylist()[0]
    assert abs(lon - 115.8921) < 1000 / (111_320 * np.cos(np.radians(28)))


def test_laplace_noise_scale() -> None:
    values = pa.array([100.0] * 20_000 + [None])
    out = ops.laplace_noise(values, epsilon=0.5, sensitivity=1.0, rng=np.random.default_rng(7))
    noise = np.array(out.to_pylist()[:-1]) - 100.0
    assert out.to_pylist()[-1] is None
    assert abs(np.mean(np.abs(noise)) - 2.0) < 0.1  # E|Laplace(b)| = b = sensitivity/epsilon
    with pytest.raises(InvalidParameter, match="epsilon"):
        ops.laplace_noise(values, epsilon=0)


def test_registry_checks_parameters_in_chinese() -> None:
    assert ops.apply("partial", strings("13812345678"), entity="CN_MOBILE").to_pylist() == [
        "138****5678"
    ]
    with pytest.raises(UnknownOperator, match="未知的脱敏算子"):
        ops.apply("scramble", strings("x"))
    with pytest.raises(InvalidParameter, match="truncate 的参数 length") as err:
        ops.apply("truncate", strings("x"))
    assert err.value.detail == {"operator": "truncate", "parameter": "length"}
    with pytest.raises(InvalidParameter, match="age_band 的参数 colour"):
        ops.OPERATORS["age_band"](pa.array([1]), colour="red")
    with pytest.raises(InvalidParameter, match="age_band 的参数 width"):
        ops.OPERATORS["age_band"](pa.array([1]), width="10")
    with pytest.raises(InvalidParameter, match="age_band 的参数 width"):
        ops.OPERATORS["age_band"](pa.array([1]), width=0)
    with pytest.raises(InvalidParameter, match="generalize_date 的参数 level"):
        ops.OPERATORS["generalize_date"](strings("2020-01-01"), level="day")


def test_vectorized_masking_is_fast() -> None:
    n = 200_000
    ids = pa.array([f"110105194912{i % 28 + 1:02d}{i % 1000:03d}X" for i in range(n)])
    started = time.perf_counter()
    out = ops.partial(ids, "CN_RESIDENT_ID")
    elapsed = time.perf_counter() - started
    assert len(out) == n and out[0].as_py().startswith("110105")
    assert elapsed < 1.0


def test_generalize_address_with_a_mask_says_no_more() -> None:
    """``mask`` follows every kept prefix, whether the address went on or not (so it tells
    nothing about the remainder); unrecognised and null addresses stay null."""
    values = strings("江西省南昌市东湖区八一大道1号", "江西省南昌市东湖区", "不知道在哪里", None)
    out = ops.generalize_address(values, "district", "****").to_pylist()
    assert out == ["江西省南昌市东湖区****", "江西省南昌市东湖区****", None, None]
    assert ops.apply("generalize_address", values, level="city", mask="***").to_pylist()[0] == (
        "江西省南昌市***"
    )
    with pytest.raises(InvalidParameter, match="mask"):
        ops.generalize_address(values, "district", "*" * 9)


def test_the_open_policy_masks_addresses_with_stars() -> None:
    """Open deliveries cut addresses to the district and add stars (a watermark carrier,
    issue 16 item 9); the kept text is what it was."""
    from gongshu.egress.policies import DEFAULT_POLICIES

    rule = DEFAULT_POLICIES["open"][1]["ADDRESS"]
    out = ops.apply(
        rule["op"],
        strings("江西省南昌市东湖区八一大道1号"),
        **{k: v for k, v in rule.items() if k != "op"},
    )
    assert out.to_pylist() == ["江西省南昌市东湖区****"]
