"""Catalog workflow (CAT-2 tiers merge upward, CAT-5 versions, CAT-6 who may act)."""

from __future__ import annotations

import pytest

from gongshu.catalog import search as catalog_search
from gongshu.catalog import service
from gongshu.catalog import versions as catalog_versions
from gongshu.catalog.errors import EntryIncomplete, NotProvider, NotReviewer, WrongStatus
from gongshu.errors import InvalidInput


def entry_data(**over) -> dict:  # noqa: ANN003
    data = {
        "resource_code": "360102-MZ-0001",
        "name": "低保对象名单",
        "summary": "东湖区最低生活保障对象基本信息",
        "fields": [
            {"name": "姓名", "type": "string", "description": "对象姓名"},
            {"name": "公民身份号码", "type": "string", "kind": "resident_id", "required": True},
        ],
        "update_frequency": "每月",
        "security_grade": "一般数据-3级",
        "sharing_attr": "conditional",
        "sharing_conditions": "仅用于社会救助资格核查",
        "opening_attr": "none",
        "formats": ["CSV"],
    }
    data.update(over)
    return data


def test_county_entry_climbs_to_the_provincial_catalog(session, people) -> None:
    entry = service.create(session, entry_data(), actor=people.clerk_county)
    assert (entry.status, entry.tier, entry.version_no) == ("draft", "county", 1)
    service.submit(session, entry.id, actor=people.clerk_county)
    assert entry.review_region_code == "360102"
    # The city cannot act before the county has.
    with pytest.raises(NotReviewer):
        service.approve(session, entry.id, actor=people.reviewer_city)
    service.approve(session, entry.id, actor=people.reviewer_county)
    assert entry.status == "approved" and entry.review_region_code == "360100"
    assert not entry.provincial and entry.published_version == entry.version_no
    service.approve(session, entry.id, actor=people.reviewer_city)
    assert entry.review_region_code == "360000"
    service.approve(session, entry.id, actor=people.reviewer_prov, comment="纳入省级目录")
    assert entry.provincial and entry.review_region_code is None
    actions = [v.action for v in catalog_versions.versions(session, entry.id)]
    assert actions == ["merged", "merged", "approved", "submitted", "created"]


def test_return_needs_a_comment_and_goes_back_to_the_agency(session, people) -> None:
    entry = service.create(session, entry_data(), actor=people.clerk_county)
    service.submit(session, entry.id, actor=people.clerk_county)
    with pytest.raises(InvalidInput, match="审核意见"):
        service.return_(session, entry.id, actor=people.reviewer_county, comment=" ")
    service.return_(session, entry.id, actor=people.reviewer_county, comment="请补充字段说明")
    assert entry.status == "returned" and entry.last_comment == "请补充字段说明"
    assert service.review_queue(session, people.reviewer_county) == []
    service.update(session, entry.id, {"summary": "补充后的摘要"}, actor=people.clerk_county)
    service.submit(session, entry.id, actor=people.clerk_county)
    assert service.review_queue(session, people.reviewer_county) == [entry]


def test_only_the_provider_edits_and_only_complete_entries_are_submitted(session, people) -> None:
    entry = service.create(session, entry_data(sharing_attr="none"), actor=people.clerk_county)
    with pytest.raises(NotProvider):
        service.update(session, entry.id, {"name": "x"}, actor=people.clerk_prov)
    # SHR-1: not sharing needs a legal basis.
    with pytest.raises(EntryIncomplete, match="法律依据"):
        service.submit(session, entry.id, actor=people.clerk_county)
    service.update(
        session,
        entry.id,
        {"no_share_basis": "《个人信息保护法》第二十八条"},
        actor=people.clerk_county,
    )
    service.submit(session, entry.id, actor=people.clerk_county)
    with pytest.raises(WrongStatus):
        service.update(session, entry.id, {"name": "审核中修改"}, actor=people.clerk_county)


def test_every_change_is_a_version_with_a_field_level_diff(session, people) -> None:
    entry = service.create(session, entry_data(), actor=people.clerk_county)
    fields = entry_data()["fields"] + [{"name": "救助金额", "type": "decimal"}]
    fields[0] = {**fields[0], "description": "救助对象姓名"}
    service.update(
        session, entry.id, {"fields": fields, "update_frequency": "每日"}, actor=people.clerk_county
    )
    assert entry.version_no == 2
    changes, field_changes = catalog_versions.diff(
        catalog_versions.version(session, entry.id, 1).snapshot,
        catalog_versions.version(session, entry.id, 2).snapshot,
    )
    assert [(c.key, c.old, c.new) for c in changes] == [("update_frequency", "每月", "每日")]
    assert {(f.name, f.change, tuple(f.attrs)) for f in field_changes} == {
        ("姓名", "changed", ("description",)),
        ("救助金额", "added", ()),
    }
    # An edit that changes nothing is not a version.
    service.update(session, entry.id, {"update_frequency": "每日"}, actor=people.clerk_county)
    assert entry.version_no == 2


def test_bad_input_is_named(session, people) -> None:
    with pytest.raises(InvalidInput, match="字段「编号」的类型无效"):
        service.create(
            session,
            entry_data(fields=[{"name": "编号", "type": "uuid"}]),
            actor=people.clerk_county,
        )
    with pytest.raises(InvalidInput, match="第 2 个数据项：字段名重复"):
        service.create(
            session, entry_data(fields=[{"name": "a"}, {"name": "a"}]), actor=people.clerk_county
        )
    service.create(session, entry_data(), actor=people.clerk_county)
    with pytest.raises(InvalidInput, match="资源代码已被使用"):
        service.create(session, entry_data(), actor=people.clerk_county)
    with pytest.raises(NotProvider):
        service.create(session, entry_data(resource_code="x"), actor=people.reviewer_prov)


def test_search_filters_and_counts_facets(session, people) -> None:
    a = service.create(session, entry_data(), actor=people.clerk_county)
    service.create(
        session,
        entry_data(
            resource_code="360000-GA-0001",
            name="人口基本信息",
            summary="户籍人口",
            sharing_attr="unconditional",
            sharing_conditions=None,
        ),
        actor=people.clerk_prov,
    )
    service.submit(session, a.id, actor=people.clerk_county)
    service.approve(session, a.id, actor=people.reviewer_county)

    # The public sees published entries only; the provider also its own drafts.
    seen = catalog_search.search(session, actor=people.auditor)
    assert [e.name for e in seen.entries] == ["低保对象名单"]
    own = catalog_search.search(session, actor=people.clerk_prov)
    assert sorted(e.name for e in own.entries) == ["人口基本信息", "低保对象名单"]

    everything = catalog_search.search(session, actor=people.admin)
    assert everything.total == 2
    assert {(v, n) for v, _label, n in everything.facets["tier"]} == {
        ("county", 1),
        ("province", 1),
    }
    found = catalog_search.search(session, actor=people.admin, q="户籍")
    assert [e.name for e in found.entries] == ["人口基本信息"]
    by_provider = catalog_search.search(session, actor=people.admin, q="民政")
    assert [e.name for e in by_provider.entries] == ["低保对象名单"]
    filtered = catalog_search.search(
        session, actor=people.admin, filters={"sharing_attr": "conditional"}
    )
    assert filtered.total == 1
    # A facet ignores its own filter, so the other values stay visible with their counts.
    assert {(v, n) for v, _l, n in filtered.facets["sharing_attr"]} == {
        ("conditional", 1),
        ("unconditional", 1),
    }
