"""The demo province: records that the services accept, rows that pass our own checks."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from gongshu.accounts.permissions import ORG_KINDS, ROLE_SCOPES, TIERS
from gongshu.catalog.models import (
    FIELD_KINDS,
    FIELD_TYPES,
    LOAD_POLICIES,
    OPENING_ATTRS,
    SECURITY_GRADES,
    SHARING_ATTRS,
    UPDATE_FREQUENCIES,
)
from gongshu.demo import DEMO_PASSWORD, DemoField, build_province, entry_rows, total_rows
from gongshu.errors import InvalidInput
from gongshu.identifiers import (
    region_code_mask,
    region_codes,
    region_tier,
    resident_id_mask,
    uscc_mask,
)

PROVINCE = build_province()
ENTRIES = {e.key: e for e in PROVINCE.entries}
ORGS = {o.key: o for o in PROVINCE.orgs}
ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
}
MASKS = {"resident_id": resident_id_mask, "uscc": uscc_mask, "region_code": region_code_mask}


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    """Every entry generated in full, once."""
    return {k: pa.Table.from_batches(list(entry_rows(e))) for k, e in ENTRIES.items()}


def _ipc(batches) -> bytes:
    sink = pa.BufferOutputStream()
    batches = list(batches)
    with pa.ipc.new_stream(sink, batches[0].schema) as writer:
        for b in batches:
            writer.write_batch(b)
    return sink.getvalue().to_pybytes()


# ---------------------------------------------------------------- records


def test_regions_are_real_gb2260_codes_in_three_tiers():
    codes = region_codes()
    by_code = {r.code: r for r in PROVINCE.regions}
    assert {"360000", "360100", "360102", "360103", "360700", "360702", "360703"} == set(by_code)
    for r in PROVINCE.regions:
        assert codes[r.code].endswith(r.name), r
        assert r.tier == region_tier(r.code) and r.tier in TIERS
        if r.parent_code is None:
            assert r.tier == "province"
        else:
            assert by_code[r.parent_code].tier == {"city": "province", "county": "city"}[r.tier]


def test_every_org_kind_and_a_data_authority_in_every_region():
    kinds = {o.kind for o in PROVINCE.orgs}
    assert kinds == set(ORG_KINDS)
    authorities = {o.region_code for o in PROVINCE.orgs if o.kind == "data_authority"}
    assert authorities == {r.code for r in PROVINCE.regions}
    agencies = [o for o in PROVINCE.orgs if o.kind == "agency"]
    assert len(agencies) >= 8
    assert {region_tier(o.region_code) for o in agencies} == set(TIERS)
    for dept in (
        "公安",
        "民政厅",
        "人力资源和社会保障厅",
        "市场监督管理局",
        "卫生健康委员会",
        "交通运输厅",
        "自然资源厅",
        "教育厅",
    ):
        assert any(dept in o.name for o in agencies), dept
    for kind in ("enterprise", "operator", "auditor", "regulator"):
        assert sum(o.kind == kind for o in PROVINCE.orgs) == 1, kind
    assert len({o.name for o in PROVINCE.orgs}) == len(PROVINCE.orgs)
    assert len(ORGS) == len(PROVINCE.orgs)


def test_users_cover_every_role_and_belong_where_their_role_works():
    users = {u.username: u for u in PROVINCE.users}
    assert len(users) == len(PROVINCE.users)
    assert {r for u in PROVINCE.users for r in u.roles} == set(ROLE_SCOPES)
    for role in ROLE_SCOPES:
        assert role in users[role].roles
    assert all(u.password == DEMO_PASSWORD == "gongshu-demo" for u in PROVINCE.users)
    for u in PROVINCE.users:
        if "clerk" in u.roles:
            assert ORGS[u.org_key].kind == "agency", u
        if "reviewer" in u.roles:
            assert ORGS[u.org_key].kind == "data_authority", u
    assert users["public"].org_key is None
    assert region_tier(ORGS[users["reviewer_nc"].org_key].region_code) == "city"
    clerk_tiers = {
        region_tier(ORGS[u.org_key].region_code) for u in PROVINCE.users if "clerk" in u.roles
    }
    assert clerk_tiers == set(TIERS)
    # The loader acts as each provider's clerk and walks every review chain.
    clerk_orgs = {u.org_key for u in PROVINCE.users if "clerk" in u.roles}
    reviewer_regions = {
        ORGS[u.org_key].region_code for u in PROVINCE.users if "reviewer" in u.roles
    }
    assert {e.org_key for e in PROVINCE.entries} <= clerk_orgs
    assert reviewer_regions == {r.code for r in PROVINCE.regions}


def test_entries_cover_every_attribute_and_tier_with_valid_values():
    entries = PROVINCE.entries
    assert len(entries) >= 15
    assert {e.sharing_attr for e in entries} == set(SHARING_ATTRS)
    assert {e.opening_attr for e in entries} == set(OPENING_ATTRS)
    assert {e.tier for e in entries} == set(TIERS)
    assert len({e.resource_code for e in entries}) == len(entries)
    assert len({e.name for e in entries}) == len(entries)
    for e in entries:
        org = ORGS[e.org_key]
        assert org.kind == "agency" and e.region_code == org.region_code
        assert e.tier == region_tier(e.region_code)
        assert re.fullmatch(rf"{e.region_code}-[A-Z]{{2}}-\d{{4}}", e.resource_code), e.key
        assert e.update_frequency in UPDATE_FREQUENCIES
        assert e.security_grade in SECURITY_GRADES
        assert e.load_policy in LOAD_POLICIES
        assert e.summary and e.formats
        names = [f.name for f in e.fields]
        assert len(names) == len(set(names)) and len(names) >= 7
        for f in e.fields:
            assert f.type in FIELD_TYPES and f.description
            assert f.kind is None or f.kind in FIELD_KINDS
        # CAT-4, SHR-1: what check_complete asks for before submission.
        assert bool(e.sharing_conditions) == (e.sharing_attr == "conditional"), e.key
        assert bool(e.no_share_basis) == (e.sharing_attr == "none"), e.key
        assert e.no_share_basis is None or "《" in e.no_share_basis
        assert bool(e.opening_conditions) == (e.opening_attr == "conditional"), e.key
        assert 5000 <= e.rows <= 50000
    assert total_rows(PROVINCE) <= 250_000
    pending = [e for e in entries if not e.approved]
    assert 2 <= len(pending) <= len(entries) // 4


def test_named_fields_carry_identifier_kinds():
    hjrk = {f.name: f for f in ENTRIES["hjrk"].fields}
    assert hjrk["公民身份号码"].kind == "resident_id" and hjrk["公民身份号码"].required
    assert hjrk["行政区划代码"].kind == "region_code"
    assert hjrk["出生日期"].type == "date"
    qydj = {f.name: f for f in ENTRIES["qydj"].fields}
    assert qydj["统一社会信用代码"].kind == "uscc"
    assert qydj["注册资本"].type == "decimal"


# ---------------------------------------------------------------- rows


@pytest.mark.parametrize("key", sorted(ENTRIES))
def test_rows_match_the_entry_and_identifiers_pass_our_validators(key, tables):
    entry, table = ENTRIES[key], tables[key]
    assert table.num_rows == entry.rows
    assert table.column_names == [f.name for f in entry.fields]
    for f in entry.fields:
        col = table.column(f.name)
        if f.type == "decimal":
            assert pa.types.is_decimal(col.type) or col.type == pa.float64()
        else:
            assert col.type == ARROW_TYPES[f.type], f.name
        if key != "gljt":  # the subsidy list has missing names planted (issue 8)
            assert col.null_count == 0, f.name
        if f.kind:
            ok = MASKS[f.kind](col)
            assert ok.all(), (f.name, col.filter(pa.array(~ok)).slice(0, 3).to_pylist())
        if f.type == "date" and "有效期" not in f.name:  # only expiry dates lie ahead
            assert pc.max(col).as_py() <= date.today(), f.name


def test_people_are_consistent_and_unique(tables):
    t = tables["hjrk"]
    ids = t.column("公民身份号码").to_pylist()
    assert len(set(ids)) == len(ids)
    births = t.column("出生日期").to_pylist()
    sexes = t.column("性别").to_pylist()
    for i in range(0, len(ids), 97):
        assert ids[i][6:14] == births[i].strftime("%Y%m%d")
        assert sexes[i] == ("男" if int(ids[i][16]) % 2 else "女")
        assert ids[i][:6] == t.column("行政区划代码")[i].as_py()
    assert t.column("户籍地址")[0].as_py().startswith("江西省")


def test_identifiers_join_across_entries_and_never_collide(tables):
    people = set(tables["hjrk"].column("公民身份号码").to_pylist())
    insured = set(tables["sbcb"].column("公民身份号码").to_pylist())
    assert insured <= people  # the same residents appear in every entry
    firms = set(tables["qydj"].column("统一社会信用代码").to_pylist())
    assert len(firms) == ENTRIES["qydj"].rows
    assert set(tables["dlys"].column("统一社会信用代码").to_pylist()) <= firms
    # Different kinds of organization never share a code.
    others = [
        set(tables[k].column("统一社会信用代码").to_pylist())
        for k in ("xxml", "shzz", "yljg", "gtgsh", "spjy")
    ]
    assert sum(map(len, others)) + len(firms) == len(firms.union(*others))
    students = set(tables["xsxj"].column("公民身份号码").to_pylist())
    assert len(students) == ENTRIES["xsxj"].rows and not students & people


def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    entry = ENTRIES["qydj"]
    first = _ipc(entry_rows(entry, seed=7, limit=3000, batch_rows=1000))
    assert first == _ipc(entry_rows(entry, seed=7, limit=3000, batch_rows=1000))
    assert first != _ipc(entry_rows(entry, seed=8, limit=3000, batch_rows=1000))


def test_limit_gives_a_prefix_in_batches_of_the_asked_size():
    entry = ENTRIES["mzjz"]
    sizes = [b.num_rows for b in entry_rows(entry, limit=2500, batch_rows=1000)]
    assert sizes == [1000, 1000, 500]
    small = pa.Table.from_batches(list(entry_rows(entry, limit=1500, batch_rows=1000)))
    big = pa.Table.from_batches(list(entry_rows(entry, limit=3000, batch_rows=1000)))
    assert big.slice(0, 1500).equals(small)
    assert list(entry_rows(entry, limit=0)) == []


@pytest.mark.parametrize("kwargs", [{"batch_rows": 0}, {"limit": -1}])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(InvalidInput):
        next(entry_rows(ENTRIES["hjrk"], **kwargs))


def test_an_entry_edited_by_hand_still_gets_valid_rows():
    extra = (
        DemoField("备注", "string", "备注"),
        DemoField("数量", "integer", "数量"),
        DemoField("金额", "decimal", "金额"),
        DemoField("时间", "datetime", "时间"),
        DemoField("有效", "boolean", "是否有效"),
        DemoField("证件号", "string", "证件号", "resident_id"),
        DemoField("机构代码", "string", "机构代码", "uscc"),
        DemoField("区划", "string", "区划", "region_code"),
    )
    entry = dataclasses.replace(ENTRIES["gjxl"], key="custom", fields=extra, rows=6000)
    t = pa.Table.from_batches(list(entry_rows(entry, batch_rows=4000)))
    assert t.num_rows == 6000 and t.column_names == [f.name for f in extra]
    assert resident_id_mask(t.column("证件号")).all()
    assert uscc_mask(t.column("机构代码")).all()
    assert region_code_mask(t.column("区划")).all()
    assert pa.types.is_timestamp(t.column("时间").type)


def test_generating_the_whole_province_takes_under_five_seconds():
    started = time.perf_counter()
    rows = sum(b.num_rows for e in PROVINCE.entries for b in entry_rows(e, seed=99))
    elapsed = time.perf_counter() - started
    assert rows == total_rows(PROVINCE)
    assert elapsed < 5.0, elapsed
