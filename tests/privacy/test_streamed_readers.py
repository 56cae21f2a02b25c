"""Readers of a stored version for someone's request never decrypt a sealed column
whole (issue 19 item 3: "sealed columns are decrypted as a stream of batches, never
whole"): the rights-request search, the provider's preview, identity verification
against the register and the one-source finder read the version through
``storage.streamed`` (a sealed frame at a time), with the same answers as before.

The check: ``storage.store._open_sealed`` (the whole-column decryption behind
``storage.relation``) raises while they run; on the former code each of them called it."""

from __future__ import annotations

import duckdb
import pytest

from gongshu import storage
from gongshu.datasets import service as datasets
from gongshu.egress.verify import Checker
from gongshu.privacy import finder
from gongshu.quality import engine, onesource
from gongshu.storage import store
from tests.privacy.conftest import IDS, ME, MOBILES, NAMES, REGISTER_CODE, SECRET


@pytest.fixture
def no_whole_decrypt(monkeypatch):  # noqa: ANN001, ANN201
    def refuse(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a sealed column was decrypted whole")

    monkeypatch.setattr(store, "_open_sealed", refuse)


def test_request_readers_stream_sealed_columns(
    session, people, entries, pi, no_whole_decrypt
) -> None:  # noqa: ANN001
    county, police = entries
    version = storage.newest(session, county.id)
    assert version.sealed and "公民身份号码" in version.sealed["columns"]

    # the rights-request search: the citizen's own row, by ID number
    con = duckdb.connect()
    try:
        found = finder.find_in(
            county, version, id_number=ME, mobile=None, datasets_dir=pi.datasets_dir, con=con
        )
    finally:
        con.close()
    assert found is not None and found.row_numbers == [IDS.index(ME)]

    # the provider's preview: the stored rows, sealed IDs in the clear for the provider
    columns, rows = datasets.preview(
        session, version.id, actor=people.clerk_county, datasets_dir=pi.datasets_dir, limit=5
    )
    assert rows[3][columns.index("公民身份号码")] == IDS[3]
    assert len(rows) == 5
    _, later = datasets.preview(
        session, version.id, actor=people.clerk_county, datasets_dir=pi.datasets_dir, offset=18
    )
    assert [r[columns.index("姓名")] for r in later] == NAMES[18:20]

    # identity verification against the register (the police's entry, IDs sealed)
    checker = Checker(register_code=REGISTER_CODE, datasets_dir=pi.datasets_dir, secret=SECRET)
    assert checker.matches(
        session, NAMES[3], ME, MOBILES[3], by="test", caller="test", purpose="核验"
    )
    assert not checker.matches(
        session, NAMES[4], ME, MOBILES[3], by="test", caller="test", purpose="核验"
    )
    assert checker.mobile_on_record(session, ME, by="test", caller="test") == MOBILES[3]


def test_the_one_source_overlap_streams_and_counts_distinct_ids(
    session, entries, pi, no_whole_decrypt
):  # noqa: ANN001
    county, police = entries
    a, b = (
        onesource.Holding(e, storage.newest(session, e.id), "公民身份号码", "person")
        for e in (county, police)
    )
    con = engine.connect()
    try:
        na, nb, both = onesource._overlap(con, "salt", pi.datasets_dir, a, b)
    finally:
        con.close()
    assert (na, nb, both) == (20, 10, 10)
