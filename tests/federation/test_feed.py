"""The lower node's side of the catalog change feed: what it queues, once."""

from __future__ import annotations

import json

from sqlalchemy import select

from gongshu.catalog import service as catalog
from gongshu.federation import directory, feed, identity
from gongshu.federation.models import Message


def _data(code: str, name: str) -> dict:
    return {"resource_code": code, "name": name, "summary": "测试"}


def test_changes_are_queued_once_per_version_in_a_signed_chain(session, settings, people) -> None:
    from gongshu.protect import sm2

    province_key = sm2.generate_private_key()
    node = identity.init_node(
        session,
        settings,
        role="city",
        region_code="360100",
        address="http://city.test",
        anchor={
            "node_id": "province-360000",
            "public_key": sm2.public_key(province_key).hex(),
            "address": "http://prov.test",
        },
    )
    key = identity.private_key(settings)
    county = catalog.create(session, _data("360102-A", "低保对象"), actor=people.clerk_county)
    catalog.create(session, _data("360000-B", "户籍人口"), actor=people.clerk_prov)  # provincial
    assert feed.enqueue(session, key) == 1  # the provincial entry is not the city's to send
    assert feed.enqueue(session, key) == 0
    catalog.update(session, county.id, {"name": "低保对象名单"}, actor=people.clerk_county)
    assert feed.enqueue(session, key) == 1
    rows = session.scalars(select(Message).order_by(Message.seq)).all()
    assert [(r.direction, r.seq, r.receiver) for r in rows] == [
        ("out", 1, "province-360000"),
        ("out", 2, "province-360000"),
    ]
    first, second = (json.loads(r.envelope) for r in rows)
    assert second["prev_hash"] == rows[0].hash and first["prev_hash"] == ""
    (change,) = second["payload"]["changes"]
    assert (change["name"], change["version_no"], change["entry_id"]) == (
        "低保对象名单",
        2,
        county.id,
    )
    assert all(r.sender_key == node.public_key and not r.acked for r in rows)
    assert directory.warning(session) is not None  # no directory yet: not joined


def _city(session, settings):  # noqa: ANN001, ANN202
    from gongshu.protect import sm2

    identity.init_node(
        session,
        settings,
        role="city",
        region_code="360100",
        address="http://city.test",
        anchor={
            "node_id": "province-360000",
            "public_key": sm2.public_key(sm2.generate_private_key()).hex(),
            "address": "http://prov.test",
        },
    )
    return identity.private_key(settings)


def _sent(session) -> list[dict]:  # noqa: ANN001
    rows = session.scalars(select(Message).order_by(Message.seq)).all()
    return [c for r in rows for c in json.loads(r.envelope)["payload"]["changes"]]


def test_a_deleted_draft_is_sent_once_as_a_tombstone(session, settings, people) -> None:
    from gongshu.catalog import drafts
    from gongshu.federation.models import FeedMark

    key = _city(session, settings)
    kept = catalog.create(session, _data("360102-K", "保留目录"), actor=people.clerk_county)
    gone = catalog.create(session, _data("360102-G", "删除目录"), actor=people.clerk_county)
    assert feed.enqueue(session, key) == 2
    catalog.update(session, gone.id, {"name": "删除目录（改名）"}, actor=people.clerk_county)
    assert feed.enqueue(session, key) == 1  # a rename rides as a change of the name
    gone_id = gone.id
    drafts.delete_draft(session, gone_id, actor=people.clerk_county)
    assert feed.enqueue(session, key) == 1
    assert feed.enqueue(session, key) == 0  # once
    changes = _sent(session)
    assert [c["name"] for c in changes[:3]] == ["保留目录", "删除目录", "删除目录（改名）"]
    assert changes[3] == {"entry_id": gone_id, "deleted": True, "version_no": 2}
    assert session.get(FeedMark, gone_id) is None
    assert session.get(FeedMark, kept.id) is not None


def test_an_id_reused_after_a_deletion_is_a_new_entry(session, settings, people) -> None:
    """SQLite gives the highest id again after it is deleted: the province must hear of
    the deletion first, then of the new entry (which is at version 1 like the old)."""
    from gongshu.catalog import drafts

    key = _city(session, settings)
    old = catalog.create(session, _data("360102-O", "旧目录"), actor=people.clerk_county)
    assert feed.enqueue(session, key) == 1
    old_id = old.id
    drafts.delete_draft(session, old_id, actor=people.clerk_county)
    new = catalog.create(session, _data("360102-N", "新目录"), actor=people.clerk_county)
    if session.bind.dialect.name == "sqlite":
        assert new.id == old_id  # the trap this guards against
    assert feed.enqueue(session, key) == 2
    tombstone, created = _sent(session)[1:]
    assert tombstone == {"entry_id": old_id, "deleted": True, "version_no": 1}
    assert (created["entry_id"], created["name"], created["version_no"]) == (new.id, "新目录", 1)
    assert feed.enqueue(session, key) == 0


def test_messages_stay_under_the_wire_limit_with_the_longest_names(
    session, settings, people
) -> None:
    from gongshu.federation import envelope

    key = _city(session, settings)
    for n in range(130):
        name = f"{n:03d}" + "长" * 197  # 200 characters, each escaped to 6 bytes on the wire
        catalog.create(session, _data(f"360102-L{n:03d}", name), actor=people.clerk_county)
    assert feed.enqueue(session, key) == 130
    rows = session.scalars(select(Message).order_by(Message.seq)).all()
    sizes = [
        len(json.dumps({"envelope": r.envelope, "signature": r.signature}).encode()) for r in rows
    ]
    assert len(rows) > 2 and max(sizes) <= envelope.MAX_MESSAGE_BYTES, sizes
    names = [c["name"][:3] for c in _sent(session)]
    assert sorted(names) == [f"{n:03d}" for n in range(130)]
