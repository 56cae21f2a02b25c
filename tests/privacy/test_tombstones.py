"""Tombstones: the new version streams the old file batch by batch, keeps its schema,
and drops (or corrects) exactly the person's rows, whatever the batch boundaries."""

from __future__ import annotations

import pytest

from gongshu import storage
from gongshu.errors import InvalidInput
from gongshu.privacy import tombstones
from gongshu.storage import versions_of


@pytest.mark.parametrize("batch_rows", [3, 7, 65536])
def test_erase_drops_exactly_the_rows_across_batches(
    session, people, entries, pi, monkeypatch, batch_rows
) -> None:
    monkeypatch.setattr(tombstones, "BATCH_ROWS", batch_rows)
    county, _ = entries
    old = versions_of(session, county.id)[0]
    gone = [0, 3, 6, 7, 19]  # first, inside, at and after a boundary, last
    stone = tombstones.erase(
        session,
        old,
        gone,
        person="p",
        request_id=None,
        actor=people.clerk_county,
        datasets_dir=pi.datasets_dir,
    )
    new = versions_of(session, county.id)[0]
    assert new.id == stone.new_version_id and new.version_no == old.version_no + 1
    before = storage.read_table(pi.datasets_dir, old)
    after = storage.read_table(pi.datasets_dir, new)
    assert after.schema == before.schema and new.rows == 15 and new.column_tags == old.column_tags
    expected = [v for i, v in enumerate(before.column("公民身份号码").to_pylist()) if i not in gone]
    assert after.column("公民身份号码").to_pylist() == expected
    assert tombstones.erased_since(session, county.id, old.version_no)
    assert not tombstones.erased_since(session, county.id, new.version_no)


def test_correct_sets_values_only_in_the_rows(session, people, entries, pi, monkeypatch) -> None:
    monkeypatch.setattr(tombstones, "BATCH_ROWS", 4)
    county, _ = entries
    old = versions_of(session, county.id)[0]
    with pytest.raises(InvalidInput, match="更正的字段不存在"):
        tombstones.correct(
            session,
            old,
            [5],
            {"不存在": "x"},
            person="p",
            request_id=None,
            actor=people.clerk_county,
            datasets_dir=pi.datasets_dir,
        )
    tombstones.correct(
        session,
        old,
        [5, 9],
        {"街道": "青山湖街道"},
        person="p",
        request_id=None,
        actor=people.clerk_county,
        datasets_dir=pi.datasets_dir,
    )
    new = versions_of(session, county.id)[0]
    streets = storage.read_table(pi.datasets_dir, new).column("街道").to_pylist()
    old_streets = storage.read_table(pi.datasets_dir, old).column("街道").to_pylist()
    assert [i for i, (a, b) in enumerate(zip(old_streets, streets, strict=True)) if a != b] == [
        5,
        9,
    ]
    assert streets[5] == streets[9] == "青山湖街道"
