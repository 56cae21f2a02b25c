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
