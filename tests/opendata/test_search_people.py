"""Search people can use (OPN-1, CAT-1): Chinese words, pinyin and initials, synonyms,
one wrong character, highlighting, suggestions, relevance order; the same on SQLite
and PostgreSQL (the suite runs on both)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.catalog import textindex
from gongshu.opendata import ckan
from gongshu.opendata.search import search


def _open(session, people, code: str, name: str, summary: str, **extra):  # noqa: ANN001, ANN003, ANN202
    data = {
        "resource_code": code,
        "name": name,
        "summary": summary,
        "fields": extra.pop("fields", [{"name": "统一社会信用代码", "type": "string"}]),
        "update_frequency": "每日",
        "security_grade": "一般数据-1级",
        "sharing_attr": "unconditional",
        "opening_attr": extra.pop("opening", "unconditional"),
        "formats": ["csv"],
        "themes": extra.pop("themes", ["市场监管"]),
    }
    entry = catalog.create(session, data, actor=people.clerk_county)
    if extra.get("publish", True):
        catalog.submit(session, entry.id, actor=people.clerk_county)
        catalog.approve(session, entry.id, actor=people.reviewer_county)
    return entry


@pytest.fixture
def shelf(session, people):  # noqa: ANN001, ANN201
    firms = _open(session, people, "360102-SC-0001", "企业登记信息", "本区企业的登记事项")
    branches = _open(session, people, "360102-SC-0002", "分支机构名录", "企业分支机构的名称与地址")
    shops = _open(session, people, "360102-SC-0003", "个体工商户名录", "个体户经营者与地址")
    buses = _open(session, people, "360102-JT-0101", "公交站点", "公交站点位置", themes=["交通"])
    hidden = _open(session, people, "360102-SC-0009", "企业年报抽查结果", "未开放", opening="none")
    session.flush()
    return SimpleNamespace(firms=firms, branches=branches, shops=shops, buses=buses, hidden=hidden)


def _ids(found) -> list[int]:  # noqa: ANN001
    return [e.id for e in found.entries]


def test_chinese_words_rank_the_name_first(session, shelf) -> None:  # noqa: ANN001
    found = search(session, q="企业登记")
    assert _ids(found)[0] == shelf.firms.id
    assert shelf.hidden.id not in _ids(found)  # not open: never found
    assert shelf.buses.id not in _ids(found)


@pytest.mark.parametrize("q", ["qiye", "qy", "QiYe", "qiye dengji", "qiyedengji", "qydj"])
def test_pinyin_and_initials_find_the_words(session, shelf, q) -> None:  # noqa: ANN001
    found = search(session, q=q)
    assert _ids(found)[0] == shelf.firms.id
    if "d" not in q.lower():
        assert shelf.branches.id in _ids(found)
    assert shelf.buses.id not in _ids(found)
    assert "企业" in found.marks


def test_a_synonym_finds_the_common_term(session, shelf) -> None:  # noqa: ANN001
    found = search(session, q="法人登记")
    assert _ids(found)[0] == shelf.firms.id
    assert "企业" in found.marks and "登记" in found.marks


@pytest.mark.parametrize(
    ("q", "which"),
    [
        ("企业登计信息", "firms"),
        ("个体工商戶名录", "shops"),
        ("工商护", "shops"),
        ("公交站个", "buses"),  # 个 is a word elsewhere (个体): joined to its neighbour
        ("分支在构名录", "branches"),  # 在 is a stop word: the whole name, one character off
    ],
)
def test_one_wrong_character_still_finds_the_entry(session, shelf, q, which) -> None:  # noqa: ANN001
    target = getattr(shelf, which)
    found = search(session, q=q)
    assert found.total >= 1 and _ids(found)[0] == target.id


def test_without_the_tolerance_a_wrong_word_finds_nothing(session, shelf) -> None:  # noqa: ANN001
    assert search(session, q="气象预报").total == 0


def test_marks_are_escaped_and_wrap_the_matched_words(session, shelf) -> None:  # noqa: ANN001
    found = search(session, q="qiye 登记")
    marked = str(found.mark(shelf.firms, "name"))
    assert marked == "<mark>企业</mark><mark>登记</mark>信息"
    assert str(textindex.mark("<b>企业</b>", ["企业"])) == "&lt;b&gt;<mark>企业</mark>&lt;/b&gt;"
    assert str(textindex.mark("数据企业数据", ["数据企", "企业"])) == "<mark>数据企业</mark>数据"


def test_suggestions_when_nothing_is_found_name_open_entries_only(session, shelf) -> None:  # noqa: ANN001
    found = search(session, q="企业年报抽查结果 统计")
    assert found.total == 0
    assert found.suggestions and "企业年报抽查结果" not in found.suggestions  # not open
    close = search(session, q="个体工商户 气象")
    assert close.total == 0 and close.suggestions[0] == "个体工商户名录"


def test_the_portal_page_marks_and_suggests(client, shelf) -> None:  # noqa: ANN001
    page = client.get("/open", params={"q": "qiye"}).text
    assert "<mark>企业</mark>登记信息" in page
    page = client.get("/open", params={"q": "个体工商户 气象"}).text
    assert "您是不是要找" in page and "个体工商户名录" in page


def test_sorting_options_are_kept(session, shelf) -> None:  # noqa: ANN001
    by_name = search(session, q="qiye", sort="name")
    codes = [e.resource_code for e in by_name.entries]
    assert codes == sorted(codes)
    by_score = search(session, q="qiye")
    assert set(_ids(by_score)) == set(_ids(by_name))
    scored = ckan.package_search(session, {"q": "企业", "sort": "score desc"}, None)
    assert scored["results"][0]["name"] == "360102-sc-0001"


def test_the_facet_paths_agree_with_search_words(session, shelf) -> None:  # noqa: ANN001
    general = search(session, q="qy")
    narrow = search(session, q="qy", facets=["provider", "opening_attr"])
    assert _ids(general) == _ids(narrow) and general.total == narrow.total


def test_new_and_changed_entries_are_searchable_at_once(session, people, shelf) -> None:  # noqa: ANN001
    assert search(session, q="食品").total == 0
    _open(session, people, "360102-SC-0004", "食品经营许可", "食品经营企业的许可")
    session.flush()
    assert search(session, q="shipin").total == 1
    shelf.buses.summary = "公交站点位置与食品摊点"
    session.flush()
    assert search(session, q="食品").total == 2
    assert search(session, q="shipin").total == 2


def test_agency_and_place_names_are_one_word(session, shelf) -> None:  # noqa: ANN001
    textindex.index_for(session)  # loads the organizations and regions
    provider = shelf.firms.provider.name
    assert provider in textindex.query_terms(provider)
    found = search(session, q=provider)
    assert shelf.firms.id in _ids(found)


def test_the_workbench_catalog_search_uses_the_same_index(session, people, shelf) -> None:  # noqa: ANN001
    found = catalog_search.search(session, actor=people.clerk_county, q="qy")
    assert found.entries[0].id in {shelf.firms.id, shelf.branches.id, shelf.hidden.id}
    assert shelf.buses.id not in [e.id for e in found.entries]
    assert "<mark>企业</mark>" in str(found.mark(shelf.firms))
    none = catalog_search.search(session, actor=people.clerk_county, q="个体工商户 气象")
    assert none.total == 0 and none.suggestions[0] == "个体工商户名录"


def test_the_workbench_list_marks_and_suggests(client, login, shelf) -> None:  # noqa: ANN001
    login("clerk_county")
    page = client.get("/catalog", params={"q": "qy dengji"}).text
    assert "<mark>企业</mark><mark>登记</mark>信息" in page
    page = client.get("/catalog", params={"q": "个体工商户 气象"}).text
    assert "您是不是要找" in page and "个体工商户名录" in page


QUERIES = ["企业", "qy", "qiye dengji", "食品", "shipin", "食品经", "企页登记", "公交", "工商护"]


def test_an_index_kept_up_to_date_agrees_with_one_built_afresh(session, people, shelf) -> None:  # noqa: ANN001
    kept = textindex.index_for(session)
    before = {q: kept.match(q) for q in QUERIES}  # fills the memo of expansions
    assert not before["食品"].scores
    _open(session, people, "360102-SC-0004", "食品经营许可", "食品经营企业的许可", publish=False)
    shelf.buses.summary = "公交站点位置与食品摊点"
    shelf.shops.name = "个体工商户登记名录"
    session.flush()
    kept = textindex.index_for(session)  # the same index, brought up to date
    fresh = textindex.TextIndex()
    fresh.refresh(session, kept.stamp)
    assert kept.vocab == fresh.vocab
    for q in QUERIES:
        assert kept.match(q) == fresh.match(q), q
    assert kept.match("食品").scores
