"""Facets counted in SQL (or from one scan) agree with the general Python path (OPN-1)."""

from __future__ import annotations

import pytest

from gongshu.opendata.search import search

SCALAR_FACETS = ["provider", "region", "update_frequency", "opening_attr"]


@pytest.mark.parametrize(
    ("q", "filters", "sort", "descending"),
    [
        ("", {}, "name", False),
        ("公交", {}, "title", True),
        ("JT-000", {"opening_attr": ["conditional"]}, "name", False),
        ("", {"update_frequency": ["每日"], "opening_attr": ["unconditional"]}, "name", True),
        ("公交 线路", {"region": ["360102", "360000"]}, "created", False),
        ("100%_", {}, "name", False),  # LIKE wildcards are matched literally
    ],
)
def test_scalar_facets_agree_with_the_general_path(
    session,
    open_data,
    q,
    filters,
    sort,
    descending,  # noqa: ANN001
) -> None:
    general = search(session, q=q, filters=filters, sort=sort, descending=descending)
    narrow = search(
        session, q=q, filters=filters, sort=sort, descending=descending, facets=SCALAR_FACETS
    )
    assert narrow.total == general.total
    assert [e.id for e in narrow.entries] == [e.id for e in general.entries]
    assert set(narrow.facets) == set(SCALAR_FACETS)
    for key in SCALAR_FACETS:
        assert sorted(narrow.facets[key]) == sorted(general.facets[key]), key
    if not q and not filters:
        assert narrow.total == 2  # the not-open entry is never found


def test_a_page_of_the_narrow_path_follows_the_order(session, open_data) -> None:  # noqa: ANN001
    both = search(session, q="公交", sort="name", facets=[], limit=1, offset=1)
    assert both.total == 2 and [e.resource_code for e in both.entries] == ["360102-JT-0002"]
