"""The open catalog's per-process search cache (gongshu.changes) never serves an answer
from before a committed change: catalog edits, new data versions, provider renames."""

from __future__ import annotations

from sqlalchemy import select

from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.changes import ChangeCounter
from gongshu.opendata import ckan
from gongshu.opendata import search as search_module
from gongshu.opendata.search import search


def _counting(monkeypatch) -> list[int]:  # noqa: ANN001
    calls: list[int] = []
    real = search_module._search

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(search_module, "_search", counted)
    return calls


def test_a_repeated_search_is_answered_from_the_cache(session, open_data, monkeypatch) -> None:  # noqa: ANN001
    calls = _counting(monkeypatch)
    first = search(session, q="公交")
    again = search(session, q="公交")
    assert len(calls) == 1
    assert again.total == first.total == 2
    assert [e.id for e in again.entries] == [e.id for e in first.entries]
    assert again.facets == first.facets
    search(session, q="公交", limit=1)  # another question is computed
    assert len(calls) == 2


def test_a_catalog_change_makes_the_next_search_fresh(session, open_data, people) -> None:  # noqa: ANN001
    assert search(session, q="公交").total == 2
    before = session.scalar(select(ChangeCounter.value).where(ChangeCounter.name == "catalog"))
    entry = session.get(CatalogEntry, open_data.closed.id)
    entry.opening_attr = "unconditional"  # an ORM change, as any service makes it
    session.flush()
    after = session.scalar(select(ChangeCounter.value).where(ChangeCounter.name == "catalog"))
    assert after != before
    assert search(session, q="公交").total == 3


def test_renaming_a_provider_changes_what_matches(session, open_data) -> None:  # noqa: ANN001
    org = open_data.free.provider
    assert search(session, q="青山湖交通").total == 0
    org.name = "青山湖交通局"
    session.flush()
    assert search(session, q="青山湖交通").total == 2


def test_package_search_answers_are_cached_and_follow_changes(session, open_data, people) -> None:  # noqa: ANN001
    params = {"q": "公交", "rows": "10"}
    first = ckan.package_search(session, params, None)
    assert ckan.package_search(session, params, None) is first  # the cached answer
    assert first["count"] == 2
    draft = catalog.create(
        session,
        {
            "resource_code": "360102-JT-0009",
            "name": "公交新线",
            "summary": "新线",
            "fields": [{"name": "线路", "type": "string"}],
            "update_frequency": "每日",
            "security_grade": "一般数据-1级",
            "sharing_attr": "unconditional",
            "opening_attr": "unconditional",
        },
        actor=people.clerk_county,
    )
    # not yet published: nothing the public sees changed, so the answer stands
    assert ckan.package_search(session, params, None) is first
    catalog.submit(session, draft.id, actor=people.clerk_county)
    # submitted: not open yet (the cache key's count of entries past drafting moved)
    assert ckan.package_search(session, params, None)["count"] == 2
    catalog.approve(session, draft.id, actor=people.reviewer_county)
    assert ckan.package_search(session, params, None)["count"] == 3


def _counter(session, name: str) -> int | None:  # noqa: ANN001
    return session.scalar(select(ChangeCounter.value).where(ChangeCounter.name == name))


def test_a_draft_moves_the_text_index_counter_only(session, open_data, people) -> None:  # noqa: ANN001
    public, text = _counter(session, "catalog"), _counter(session, "catalog_text")
    draft = catalog.create(
        session,
        {"resource_code": "360102-JT-0010", "name": "公交草稿", "summary": "草稿"},
        actor=people.clerk_county,
    )
    assert _counter(session, "catalog") == public
    assert _counter(session, "catalog_text") != text
    catalog.update(session, draft.id, {"summary": "草稿二"}, actor=people.clerk_county)
    assert _counter(session, "catalog") == public


def test_editing_or_closing_a_published_entry_moves_the_public_counter(session, open_data) -> None:  # noqa: ANN001
    entry = session.get(CatalogEntry, open_data.free.id)
    before = _counter(session, "catalog")
    entry.summary = "新的摘要"  # still open
    session.flush()
    after = _counter(session, "catalog")
    assert after != before
    entry.opening_attr = "none"  # open before, closed now
    session.flush()
    assert _counter(session, "catalog") != after
    assert search(session, q="公交").total == 1


def test_a_change_after_a_read_in_the_same_transaction_moves_the_counter_again(
    session, open_data
) -> None:  # noqa: ANN001
    entry = session.get(CatalogEntry, open_data.free.id)
    entry.summary = "公交与地铁换乘"
    session.flush()
    entry.summary = "公交与地铁换乘站点"  # no read in between: one move serves both
    session.flush()
    assert search(session, q="地铁换乘").total == 1  # read, and cached under this value
    moved = _counter(session, "catalog")
    entry.summary = "公交与共享单车"
    session.flush()
    assert _counter(session, "catalog") != moved
    assert search(session, q="地铁换乘").total == 0
    assert search(session, q="共享单车").total == 1
