"""Change counters' journals (gongshu.changes): which rows a committed change of this
process touched, and nothing when the journal cannot explain the whole change."""

from __future__ import annotations

from gongshu import changes
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry


def _draft(session, people, code: str, name: str) -> CatalogEntry:  # noqa: ANN001
    return catalog.create(
        session, {"resource_code": code, "name": name, "summary": "草稿"}, actor=people.clerk_county
    )


def _read(session) -> tuple[int, int]:  # noqa: ANN001
    """The counter's value and the journal's position, as a cache reads them."""
    session.commit()  # a fresh transaction reads the counters again
    return changes.current(session, "catalog_text"), changes.position(session, "catalog_text")


def test_the_journal_names_the_entries_committed_since(session, people) -> None:  # noqa: ANN001
    before, seen = _read(session)
    first = _draft(session, people, "360102-JT-0101", "公交线路")
    session.commit()
    second = _draft(session, people, "360102-JT-0102", "公交站点")
    catalog.update(session, first.id, {"summary": "改过"}, actor=people.clerk_county)
    session.commit()
    now, _ = _read(session)
    keys, position = changes.journaled(session, "catalog_text", before, now, seen)
    assert keys == {first.id, second.id}
    assert position == changes.position(session, "catalog_text")
    assert changes.journaled(session, "catalog_text", now, now, position) is None  # no move


def test_a_change_this_process_did_not_log_is_not_explained(session, people) -> None:  # noqa: ANN001
    before, seen = _read(session)
    _draft(session, people, "360102-JT-0103", "公交票价")
    session.commit()
    # another process's change: the counter moves by a number this process never logged
    session.connection().execute(changes._SET, {"n": "catalog_text", "v": 12345})
    session.commit()
    now, _ = _read(session)
    assert changes.journaled(session, "catalog_text", before, now, seen) is None


def test_a_rolled_back_change_is_not_logged(session, people) -> None:  # noqa: ANN001
    before, seen = _read(session)
    _draft(session, people, "360102-JT-0104", "公交换乘")
    session.rollback()
    assert changes.position(session, "catalog_text") == seen
    assert changes.current(session, "catalog_text") == before


def test_renaming_a_provider_is_journaled_as_unknown(session, people) -> None:  # noqa: ANN001
    before, seen = _read(session)
    people.clerk_county.org.name = "东湖区交通运输局"  # every entry it provides: unknown
    session.commit()
    now, _ = _read(session)
    assert now != before
    assert changes.journaled(session, "catalog_text", before, now, seen) is None


def test_the_numbers_of_two_changes_combine_in_the_counter(session, people) -> None:  # noqa: ANN001
    """Each change XORs its number into the counter in the database, so the journal's
    numbers, XORed together, give the counter's move."""
    before, seen = _read(session)
    a = _draft(session, people, "360102-JT-0105", "公交首末班")
    session.commit()
    middle, _ = _read(session)
    b = _draft(session, people, "360102-JT-0106", "公交调度")
    session.commit()
    now, _ = _read(session)
    assert changes.journaled(session, "catalog_text", before, middle, seen)[0] == {a.id}
    assert changes.journaled(session, "catalog_text", middle, now, seen)[0] == {b.id}
