"""Discovery in depth (issue 21): entities inside free text and JSON, masked and split
values, pinyin and minority names, mixed owners, look-alikes; scored on generated
agency exports (exports.py) that are not the dev set."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from gongshu.discovery import classify_table, scan_paths

from .conftest import TODAY, Gen
from .exports import SCENIC, Exports, score, write_exports

N = 300


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    d = tmp_path_factory.mktemp("exports")
    labels = write_exports(d, seed=21)
    return labels, scan_paths([d / f for f in labels], today=TODAY)


def entities(table: pa.Table) -> dict[str, list[str]]:
    return {c.name: c.entities for c in classify_table(table, today=TODAY).columns}


def column(report: dict, table: str, name: str) -> dict:
    t = next(t for t in report["tables"] if Path(t["source"]).stem == table)
    return next(c for c in t["columns"] if c["name"] == name)


def test_generated_exports_precision_recall_f1(generated: tuple[dict, dict]) -> None:
    labels, report = generated
    got = score(report, labels)
    assert got["precision"] >= 0.98, got["misses"]
    assert got["f1"] >= 0.97, got["misses"]
    assert len(labels) == 8 and sum(len(v["columns"]) for v in labels.values()) == 38


def test_entities_inside_letters_are_reported_as_embedded(generated: tuple[dict, dict]) -> None:
    _, report = generated
    letters = column(report, "hotline_12345", "ldnr")
    assert (
        set(letters["embedded"])
        == set(letters["entities"])
        >= {
            "PERSON_NAME",
            "CN_RESIDENT_ID",
            "CN_MOBILE",
            "BANK_CARD",
            "LICENSE_PLATE",
        }
    )
    for code, ev in letters["evidence"].items():
        assert ev["embedded"] is True and 0 < ev["matched"] <= ev["checked"], code
    assert letters["evidence"]["CN_MOBILE"]["masked"] is True  # 138****5678 in some letters
    assert letters["sensitive"] is True
    # a work-order column with serials, amounts and dates, and fixed answers: nothing
    assert column(report, "case_notes", "工单描述")["entities"] == []
    assert column(report, "hotline_12345", "clyj")["entities"] == []


def test_json_is_parsed_path_by_path(generated: tuple[dict, dict]) -> None:
    _, report = generated
    payload = column(report, "apply_json", "payload")
    assert payload["embedded"]["CN_RESIDENT_ID"]["paths"] == ["$.applicant.idCard"]
    assert payload["embedded"]["CN_MOBILE"]["paths"] == [
        "$.applicant.mobile",
        "$.contacts[0].lxdh",
        "$.contacts[1].lxdh",
    ]
    # \u-escaped names, a JSON document stored as a string inside JSON, escaped text
    assert "PERSON_NAME" in payload["entities"]
    assert column(report, "apply_json", "ext")["embedded"]["PERSON_NAME"]["paths"] == ["$.raw"]
    assert column(report, "family_json", "memo_escaped")["entities"] == ["CN_MOBILE", "PERSON_NAME"]
    assert column(report, "apply_json", "device")["entities"] == []


def test_masked_values_keep_their_entity_and_say_so(generated: tuple[dict, dict]) -> None:
    _, report = generated
    for name, code in (
        ("xm", "PERSON_NAME"),
        ("zjhm", "CN_RESIDENT_ID"),
        ("sjhm", "CN_MOBILE"),
        ("yhkh", "BANK_CARD"),
        ("jzdz", "ADDRESS"),
    ):
        col = column(report, "masked_export", name)
        assert col["entities"] == [code] and col["evidence"][code]["masked"] is True, name
    assert column(report, "masked_export", "bydh")["entities"] == []  # *********** proves nothing


def test_an_id_split_over_two_columns(generated: tuple[dict, dict]) -> None:
    _, report = generated
    first, second = column(report, "split_id", "sfzh_q"), column(report, "split_id", "sfzh_h")
    assert first["entities"] == second["entities"] == ["CN_RESIDENT_ID"]
    assert first["evidence"]["CN_RESIDENT_ID"]["split_with"] == "sfzh_h"
    assert second["sensitive"] is True


def test_fully_masked_values_prove_nothing() -> None:
    table = pa.table(
        {
            "身份证号": ["*" * 18] * N,
            "手机号码": ["***********"] * N,
            "姓名": ["***"] * N,
            "partly": ["1*****************"] * N,  # one visible digit is not enough
        }
    )
    assert entities(table) == {"身份证号": [], "手机号码": [], "姓名": [], "partly": []}


def test_masked_value_must_pass_what_stays_visible(gen: Gen) -> None:
    bad_region = ["990105********002X"] * N  # no province 99
    bad_month = [gen.resident_id()[:10] + "13" + "******"] * N
    bad_prefix = ["120****5678"] * N  # no mobile prefix 120
    got = entities(pa.table({"a": bad_region, "b": bad_month, "c": bad_prefix}))
    assert got == {"a": [], "b": [], "c": []}


def test_pinyin_and_minority_names_in_columns_with_any_name_or_none() -> None:
    g = Exports(3)
    table = pa.table(
        {
            "col_7": [g.pinyin_name() for _ in range(N)],
            "applicant": [g.pinyin_name().lower() for _ in range(N)],
            "姓名": [g.any_name() if i % 2 else g.pick(["扎西多吉", "巴特尔"]) for i in range(N)],
            "city": [g.pick(["Hangzhou", "Shanghai Pudong", "Wuhan Hankou"]) for _ in range(N)],
        }
    )
    got = entities(table)
    assert got["col_7"] == got["applicant"] == got["姓名"] == ["PERSON_NAME"]
    assert got["city"] == []


def test_places_and_landmarks_are_not_person_names() -> None:
    g = Exports(4)
    table = pa.table(
        {
            "spot_name": [g.pick(SCENIC) for _ in range(N)],
            "所在城市": [
                g.pick(["杭州", "黄山", "常州", "金华", "温州", "桂林"]) for _ in range(N)
            ],
            "姓名": [g.han_name() for _ in range(N)],
        }
    )
    assert entities(table) == {"spot_name": [], "所在城市": [], "姓名": ["PERSON_NAME"]}


def test_a_column_shared_by_two_kinds_above_the_stated_share() -> None:
    g = Exports(5)
    owners = [g.org() if i % 10 < 2 else g.han_name() for i in range(N)]  # a fifth companies
    few = [g.org() if i % 20 == 0 else g.han_name() for i in range(N)]  # 5%: below MIX_SHARE
    ids = [g.uscc() if i % 10 < 2 else g.resident_id() for i in range(N)]
    got = entities(pa.table({"syr": owners, "xm": few, "zjhm": ids}))
    assert got == {
        "syr": ["ORG_NAME", "PERSON_NAME"],
        "xm": ["PERSON_NAME"],
        "zjhm": ["CN_RESIDENT_ID", "CN_USCC"],
    }


def test_codes_in_text_use_the_column_validators(gen: Gen) -> None:
    card = Exports(6).bank_card()
    visa = Exports(6).luhn("4367420000000")
    good = gen.resident_id()
    wrong = good[:17] + ("1" if good[17] == "0" else "0")
    notes = {
        # grouped digits are joined; bank cards need a context word unless UnionPay (62)
        "a": [f"退款至银行卡{' '.join([card[:4], card[4:8], card[8:12], card[12:]])}，已办理"] * N,
        "b": [f"订单{visa}已发货，请注意查收"] * N,  # a Luhn-valid number that is no card here
        "c": [f"用户反映身份证{wrong}无法登记，请核实"] * N,  # a wrong check digit
        "d": ["手机１３８１２３４５６７８无法接听，请回电"] * N,  # full-width digits
    }
    got = entities(pa.table(notes))
    assert got == {"a": ["BANK_CARD"], "b": [], "c": [], "d": ["CN_MOBILE"]}


def test_json_values_are_parsed_not_matched_as_text(gen: Gen) -> None:
    docs = [
        json.dumps(
            {"申请人": {"姓名": gen.name(), "证件号码": gen.resident_id()}}, ensure_ascii=True
        )
        for _ in range(N)
    ]
    tuples = [json.dumps([gen.name(), gen.mobile()], ensure_ascii=False) for _ in range(N)]
    got = classify_table(pa.table({"doc": docs, "tuple": tuples}), today=TODAY)
    doc = got.column("doc")
    assert doc.entities == ["CN_RESIDENT_ID", "PERSON_NAME"]
    assert doc.embedded["PERSON_NAME"]["paths"] == ['$."申请人"."姓名"']
    assert got.column("tuple").entities == ["CN_MOBILE", "PERSON_NAME"]
