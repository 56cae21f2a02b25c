"""The catalog's full-text index follows changes: a change this process committed is
read by itself (the counter's journal names it), any other change by reading every
entry again; either way a search never answers from before a committed change."""

from __future__ import annotations

from sqlalchemy import event, text

from gongshu import changes
from gongshu.catalog import drafts, textindex
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry


def _found(session, q: str) -> set[int]:  # noqa: ANN001
    session.commit()  # a new transaction, as the next request has
    index = textindex.index_for(session)
    with index.lock:
        return set(index.match(q).scores)


def _text_reads(session) -> list[str]:  # noqa: ANN001
    """The statements that read entries' texts for the index, from now on."""
    seen: list[str] = []

    @event.listens_for(session.connection(), "before_cursor_execute")
    def _statement(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if "CAST(catalog_entries.fields AS" in statement:
            seen.append(statement)

    return seen


def _draft(session, people, code: str, name: str) -> CatalogEntry:  # noqa: ANN001
    return catalog.create(
        session, {"resource_code": code, "name": name, "summary": "草稿"}, actor=people.clerk_county
    )


def test_a_draft_committed_here_is_read_by_itself(session, people) -> None:  # noqa: ANN001
    _draft(session, people, "360102-JT-0201", "公交线路")
    assert _found(session, "地铁") == set()  # the index is built and up to date
    reads = _text_reads(session)
    draft = _draft(session, people, "360102-JT-0202", "地铁线路")
    assert _found(session, "地铁") == {draft.id}
    assert len(reads) == 1 and " IN " in reads[0]  # the draft's row, not every entry
    catalog.update(session, draft.id, {"name": "轻轨线路"}, actor=people.clerk_county)
    assert _found(session, "地铁") == set()
    assert _found(session, "轻轨") == {draft.id}
    assert all(" IN " in r for r in reads)


def test_a_deleted_entry_leaves_the_index(session, people) -> None:  # noqa: ANN001
    draft = _draft(session, people, "360102-JT-0203", "有轨电车线路")
    assert _found(session, "有轨电车") == {draft.id}
    reads = _text_reads(session)
    drafts.delete_draft(session, draft.id, actor=people.clerk_county)
    assert _found(session, "有轨电车") == set()
    assert len(reads) == 1 and " IN " in reads[0]


def test_a_change_not_journaled_here_is_read_with_every_entry(session, people) -> None:  # noqa: ANN001
    draft = _draft(session, people, "360102-JT-0204", "出租车营运")
    assert _found(session, "出租车") == {draft.id}
    reads = _text_reads(session)
    # Another process renames the entry: its own session moves the counter by a
    # number this process never logged.
    session.execute(
        text("UPDATE catalog_entries SET name = '网约车营运' WHERE id = :id"), {"id": draft.id}
    )
    session.connection().execute(changes._SET, {"n": "catalog_text", "v": 987654321})
    assert _found(session, "出租车") == set()
    assert _found(session, "网约车") == {draft.id}
    assert len(reads) == 1 and " IN " not in reads[0]  # every entry read again
