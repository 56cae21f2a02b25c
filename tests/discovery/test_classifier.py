"""Column decisions on tables unlike the dev set: other names, noise, decoys."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from gongshu.discovery import classify_table
from gongshu.discovery.classifier import count_batch, decide

from .conftest import TODAY, Gen

N = 400


def entities(table: pa.Table, today: date = TODAY) -> dict[str, list[str]]:
    return {c.name: c.entities for c in classify_table(table, today=today).columns}


def noisy_id(gen: Gen, i: int) -> str:
    v = gen.resident_id()
    return [v, v.lower(), f" {v[:6]} {v[6:14]} {v[14:]} ", gen.old_id(), v, f"{v}\t"][i % 6]


def test_register_with_traditional_and_pinyin_names(gen: Gen) -> None:
    table = pa.table(
        {
            "xm": [gen.maybe_null(gen.name()) for _ in range(N)],
            "sfzh": [gen.maybe_null(noisy_id(gen, i)) for i in range(N)],
            "聯絡電話": [("+86 " if i % 3 == 0 else "") + gen.mobile() for i in range(N)],
            "xb": [gen.r.choice(["1", "2"]) for _ in range(N)],
            "csrq": [f"{gen.birth():%Y%m%d}" for _ in range(N)],
            "col_07": [f"u{i}@mail.example.cn" for i in range(N)],
            "戶籍地址": [f"廣東省廣州市天河區體育西路{i}號" for i in range(N)],
            "mz": [gen.r.choice(["漢族", "回族", "壯族"]) for _ in range(N)],
            "whcd": [gen.r.choice(["大學本科", "碩士", "高中", "初中"]) for _ in range(N)],
        }
    )
    assert entities(table) == {
        "xm": ["PERSON_NAME"],
        "sfzh": ["CN_RESIDENT_ID"],
        "聯絡電話": ["CN_MOBILE"],
        "xb": ["GENDER"],
        "csrq": ["BIRTH_DATE"],
        "col_07": ["EMAIL"],
        "戶籍地址": ["ADDRESS"],
        "mz": ["ETHNICITY"],
        "whcd": ["EDUCATION"],
    }


def test_values_beat_misleading_names(gen: Gen) -> None:
    table = pa.table(
        {
            "sfzh": [gen.digits(18) for _ in range(N)],  # called an ID, holds order numbers
            "col_a": [gen.resident_id() for _ in range(N)],  # says nothing, holds IDs
            "mobile": [gen.digits(11) for _ in range(N)],  # random 11-digit numbers
            "serial": [gen.digits(15) for _ in range(N)],  # 10% pass Luhn by chance
            "col_b": [gen.imei() for _ in range(N)],
            "amount": [f"{gen.r.uniform(73, 135):.4f}" for _ in range(N)],  # lng-like, alone
            "status": [gen.r.choice(["1", "2"]) for _ in range(N)],
            "颜色": [gen.r.choice(["黄色", "白色", "金卡", "高级", "石材"]) for _ in range(N)],
        }
    )
    got = entities(table)
    assert got["sfzh"] == [] and got["col_a"] == ["CN_RESIDENT_ID"]
    assert got["mobile"] == [] and got["serial"] == [] and got["col_b"] == ["IMEI"]
    assert got["amount"] == [] and got["status"] == [] and got["颜色"] == []


def test_names_decide_only_where_values_cannot(gen: Gen) -> None:
    births = [gen.birth() for _ in range(N)]
    table = pa.table(
        {
            "certificate": [gen.resident_id(b) for b in births],
            "d1": [f"{b:%Y-%m-%d}" for b in births],  # no name hint, but it is the ID's birth date
            "登记日期": [f"{gen.birth(2020, 2025):%Y-%m-%d}" for _ in range(N)],
            "性別": [gen.r.choice(["1", "2", "9"]) for _ in range(N)],
            "宗教信仰": [gen.r.choice(["无", "无", "无", "无", "佛教"]) for _ in range(N)],
            "x1": [gen.r.choice(["1", "2"]) for _ in range(N)],
        }
    )
    got = entities(table)
    assert got["d1"] == ["BIRTH_DATE"] and got["登记日期"] == []
    assert got["性別"] == ["GENDER"] and got["x1"] == []
    assert got["宗教信仰"] == ["RELIGION"]


def test_free_text_reports_embedded_entities(gen: Gen) -> None:
    notes = []
    for i in range(N):
        kind = i % 4
        if kind == 0:
            notes.append(f"联系人{gen.name()}，电话{gen.mobile()[:3]}-{gen.mobile()[3:]}，已回访")
        elif kind == 1:
            notes.append(f"{gen.name()[0]}女士反映身份证号{gen.resident_id()}登记有误")
        else:
            notes.append(gen.r.choice(["无异常", "已办结", None]))
    summaries = [
        f"患者{gen.name()}，因{gen.r.choice(['高血压', '2型糖尿病'])}入院" for _ in range(N)
    ]
    got = entities(pa.table({"备注": notes, "病历摘要": summaries}))
    assert got["备注"] == ["CN_MOBILE", "CN_RESIDENT_ID", "PERSON_NAME"]
    assert got["病历摘要"] == ["MEDICAL", "PERSON_NAME"]  # not an organization ending in 院


def test_certificate_column_with_several_codes(gen: Gen) -> None:
    values = []
    for i in range(N):
        k = i % 10
        if k < 6:
            values.append(gen.resident_id())
        elif k < 8:
            values.append("E" + gen.digits(8))
        else:
            values.append("C" + gen.digits(8))
    result = classify_table(pa.table({"zjhm": values}), today=TODAY)
    col = result.column("zjhm")
    assert col.entities == ["CN_RESIDENT_ID", "HK_MACAO_PERMIT", "PASSPORT"]
    assert col.sensitive
    assert col.evidence["PASSPORT"] == {"matched": 80, "checked": N}


def test_junk_and_nulls_still_give_the_entity(gen: Gen) -> None:
    junk = ["无", "不详", "-", "0", "N/A", "  "]
    values = [gen.resident_id() if i % 2 else gen.r.choice(junk) for i in range(N)] + [None] * 50
    col = classify_table(pa.table({"证件": values}), today=TODAY).column("证件")
    assert col.entities == ["CN_RESIDENT_ID"]
    assert col.evidence["CN_RESIDENT_ID"]["checked"] < N  # blanks and nulls are not checked
    empty = classify_table(pa.table({"e": pa.array([None] * 10, pa.string())}), today=TODAY)
    assert empty.column("e").entities == [] and empty.column("e").evidence == {}


def test_coordinates_as_two_columns_or_pairs(gen: Gen) -> None:
    table = pa.table(
        {
            "x": [round(gen.r.uniform(100, 120), 6) for _ in range(N)],  # float64 columns
            "y": [round(gen.r.uniform(20, 40), 6) for _ in range(N)],
            "pos": [f"{gen.r.uniform(20, 40):.5f},{gen.r.uniform(100, 120):.5f}" for _ in range(N)],
        }
    )
    got = entities(table)
    assert got == {"x": ["GEO_COORDINATE"], "y": ["GEO_COORDINATE"], "pos": ["GEO_COORDINATE"]}
    alone = entities(pa.table({"y": [round(gen.r.uniform(20, 40), 6) for _ in range(N)]}))
    assert alone == {"y": []}


@pytest.mark.parametrize(("scan_year", "minors"), [(2026, True), (2045, False)])
def test_children_under_14_relative_to_scan_date(gen: Gen, scan_year: int, minors: bool) -> None:
    kids = [gen.birth(2014, 2020) for _ in range(N)]
    table = pa.table(
        {
            "学生姓名": [gen.name() for _ in range(N)],
            "xjh": ["G" + gen.resident_id(b) for b in kids],
            "年级": [gen.r.choice(["一年级", "三年级", "五年级"]) for _ in range(N)],
        }
    )
    result = classify_table(table, today=date(scan_year, 9, 1))
    assert result.minors_under_14 is minors
    # PIPL art. 28: children's information is sensitive as a whole
    assert all(c.sensitive for c in result.columns) is minors


def test_minors_from_birth_dates_alone_and_adults_stay_unflagged(gen: Gen) -> None:
    kids = pa.table({"birthday": [f"{gen.birth(2015, 2021):%Y/%m/%d}" for _ in range(N)]})
    assert classify_table(kids, today=TODAY).minors_under_14
    mixed = pa.table({"sfz": [gen.resident_id(gen.birth(1940, 2020)) for _ in range(N)]})
    assert not classify_table(mixed, today=TODAY).minors_under_14


def test_counts_are_additive_across_batches(gen: Gen) -> None:
    table = pa.table(
        {
            "a": [gen.resident_id() for _ in range(N)],
            "b": [gen.mobile() if i % 3 else None for i in range(N)],
        }
    )
    whole = count_batch(table.combine_chunks().to_batches()[0], today=TODAY)
    halves = [
        count_batch(table.slice(s, N // 2).combine_chunks(), today=TODAY) for s in (0, N // 2)
    ]
    merged = halves[0] + halves[1]
    assert merged.rows == whole.rows == N
    assert decide(merged).columns == decide(whole).columns
    assert merged.columns["b"].valid == whole.columns["b"].valid
