"""Signed message chains (issue 18 item 2): what the receiving province accepts, what it
refuses and names, and that a refusal leaves nothing behind."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from gongshu.federation import chain, directory, envelope, feed, identity
from gongshu.federation.models import FederatedEntry, Message
from gongshu.ledger import LedgerEntry
from gongshu.protect import sm2
from gongshu.timeutil import utcnow

CITY = "city-360100"


def change(entry_id: int, version: int, name: str = "南昌市企业名录", region: str = "360100"):  # noqa: ANN201
    return {
        "entry_id": entry_id,
        "resource_code": f"NC-{entry_id:04d}",
        "name": name,
        "tier": "city",
        "region_code": region,
        "status": "draft",
        "version_no": version,
        "published_version": None,
        "provincial": False,
        "sharing_attr": "conditional",
        "opening_attr": "none",
    }


def wire(
    key: bytes,
    seq: int,
    prev: str,
    changes: list,
    *,
    sender: str = CITY,
    to: str = "province-360000",
) -> tuple[bytes, str]:  # noqa: E501
    env = envelope.envelope(
        sender=sender,
        receiver=to,
        channel=feed.CHANNEL,
        seq=seq,
        prev_hash=prev,
        kind=feed.KIND,
        payload={"changes": changes},
    )
    text, signature = envelope.sign(key, env)
    return json.dumps({"envelope": text, "signature": signature}).encode(), envelope.digest(
        text.encode()
    )


def accept(session, nodes, raw: bytes) -> dict:  # noqa: ANN001
    with session.begin_nested():  # as the route: a refusal rolls back what was flushed
        return chain.accept(session, raw, nodes.province_key, feed.APPLIERS)


def refused(session, nodes, raw: bytes) -> chain.Refused:  # noqa: ANN001
    before = session.scalar(select(func.count()).select_from(Message))
    entries = session.scalar(select(func.count()).select_from(FederatedEntry))
    with pytest.raises(chain.Refused) as caught:
        accept(session, nodes, raw)
    assert session.scalar(select(func.count()).select_from(Message)) == before
    assert session.scalar(select(func.count()).select_from(FederatedEntry)) == entries
    return caught.value


def test_accepts_a_chain_in_order_with_signed_receipts_and_ledger_entries(session, nodes) -> None:
    raw1, h1 = wire(nodes.city_key, 1, "", [change(1, 1)])
    raw2, _ = wire(nodes.city_key, 2, h1, [change(1, 2, "南昌市企业名录（更名）"), change(2, 1)])
    for raw in (raw1, raw2):
        answer = accept(session, nodes, raw)
        assert envelope.signature_ok(
            nodes.province.public_key, answer["receipt"], answer["signature"]
        )
    rows = session.scalars(select(FederatedEntry).order_by(FederatedEntry.home_entry_id)).all()
    assert [(r.home_node, r.home_entry_id, r.name, r.version_no) for r in rows] == [
        (CITY, 1, "南昌市企业名录（更名）", 2),
        (CITY, 2, "南昌市企业名录", 1),
    ]
    received = session.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "federation.received")
    ).all()
    assert len(received) == 2
    assert chain.verify_log(session).ok


def test_an_older_or_repeated_version_changes_nothing(session, nodes) -> None:
    raw1, h1 = wire(nodes.city_key, 1, "", [change(1, 3, "新名")])
    raw2, _ = wire(nodes.city_key, 2, h1, [change(1, 2, "旧名"), change(1, 3, "新名")])
    accept(session, nodes, raw1)
    accept(session, nodes, raw2)
    (row,) = session.scalars(select(FederatedEntry)).all()
    assert (row.name, row.version_no, row.seq) == ("新名", 3, 1)


def test_a_replay_is_refused_and_named(session, nodes) -> None:
    raw1, _ = wire(nodes.city_key, 1, "", [change(1, 1)])
    accept(session, nodes, raw1)
    error = refused(session, nodes, raw1)
    assert error.code == "replay"
    assert "重放" in error.message


def test_a_gap_is_refused(session, nodes) -> None:
    raw1, h1 = wire(nodes.city_key, 1, "", [change(1, 1)])
    accept(session, nodes, raw1)
    raw3, _ = wire(nodes.city_key, 3, h1, [change(1, 2)])
    error = refused(session, nodes, raw3)
    assert error.code == "gap"
    assert "应为第 2 号" in error.message


def test_reordering_is_refused(session, nodes) -> None:
    raw1, h1 = wire(nodes.city_key, 1, "", [change(1, 1)])
    raw2, h2 = wire(nodes.city_key, 2, h1, [change(1, 2)])
    raw3, _ = wire(nodes.city_key, 3, h2, [change(1, 3)])
    accept(session, nodes, raw1)
    assert refused(session, nodes, raw3).code == "gap"  # 3 before 2
    accept(session, nodes, raw2)
    accept(session, nodes, raw3)
    other2, _ = wire(nodes.city_key, 2, h1, [change(9, 1)])  # another message numbered 2
    error = refused(session, nodes, other2)
    assert error.code == "reorder"
    assert "序号错乱" in error.message


def test_a_message_not_linked_to_the_last_one_is_refused(session, nodes) -> None:
    raw1, _ = wire(nodes.city_key, 1, "", [change(1, 1)])
    accept(session, nodes, raw1)
    raw2, _ = wire(nodes.city_key, 2, "00" * 32, [change(1, 2)])
    assert refused(session, nodes, raw2).code == "broken_chain"


def test_a_forged_signature_is_refused(session, nodes) -> None:
    forger = sm2.generate_private_key()
    raw, _ = wire(forger, 1, "", [change(1, 1)])
    error = refused(session, nodes, raw)
    assert error.code == "bad_signature"
    assert CITY in error.message
    doc = json.loads(wire(nodes.city_key, 1, "", [change(1, 1)])[0])
    doc["envelope"] = doc["envelope"].replace("南昌市企业名录", "伪造名录")  # tampered body
    assert refused(session, nodes, json.dumps(doc).encode()).code == "bad_signature"


def test_an_unknown_node_is_refused(session, nodes) -> None:
    stranger = sm2.generate_private_key()
    raw, _ = wire(stranger, 1, "", [change(1, 1, region="360200")], sender="city-360200")
    error = refused(session, nodes, raw)
    assert error.code == "unknown_node"
    assert "未知节点" in error.message


def test_an_oversized_message_is_refused(session, nodes) -> None:
    big = [change(i, 1, "名" * 400) for i in range(1, 80)]
    raw, _ = wire(nodes.city_key, 1, "", big)
    assert len(raw) > envelope.MAX_MESSAGE_BYTES
    error = refused(session, nodes, raw)
    assert error.code == "oversized"
    assert "消息过大" in error.message


def test_a_change_outside_the_senders_region_refuses_the_whole_message(session, nodes) -> None:
    raw, _ = wire(nodes.city_key, 1, "", [change(1, 1), change(2, 1, region="360000")])
    error = refused(session, nodes, raw)  # the first change is not kept either
    assert "不在发送节点辖区内" in error.message


def test_verify_log_finds_a_tampered_message(session, nodes) -> None:
    raw1, h1 = wire(nodes.city_key, 1, "", [change(1, 1)])
    raw2, _ = wire(nodes.city_key, 2, h1, [change(1, 2)])
    accept(session, nodes, raw1)
    accept(session, nodes, raw2)
    report = chain.verify_log(session)
    assert report.ok and (report.messages, report.receipts) == (2, 2)
    row = session.scalar(select(Message).where(Message.seq == 1))
    row.envelope = row.envelope.replace('"version_no":1', '"version_no":7')
    problems = chain.verify_log(session).problems
    assert any("哈希与正文不符" in p for p in problems)
    assert any("签名无效" in p for p in problems)


def test_the_directory_verifies_against_the_anchor_and_expires(session, nodes) -> None:
    signed = directory.publish(session, nodes.province_key)
    lower = SimpleNamespace(anchor_key=nodes.province.public_key, anchor_node="province-360000")
    doc = directory.verify(lower, signed)
    assert [n["node_id"] for n in doc["nodes"]] == ["province-360000", CITY]
    forged = {**signed, "document": signed["document"].replace("city.test", "evil.test")}
    with pytest.raises(directory.DirectoryInvalid, match="签名"):
        directory.verify(lower, forged)
    with pytest.raises(directory.DirectoryInvalid, match="过期"):
        directory.verify(lower, signed, now=utcnow() + timedelta(hours=25))
    stranger = SimpleNamespace(
        anchor_key=sm2.public_key(sm2.generate_private_key()).hex(), anchor_node="province-360000"
    )
    with pytest.raises(directory.DirectoryInvalid):
        directory.verify(stranger, signed)


def test_the_node_key_is_sealed_at_rest(settings, session, nodes) -> None:
    sealed = (settings.keys_dir / identity.KEY_FILE).read_bytes()
    assert nodes.province_key.hex().encode() not in sealed
    assert nodes.province_key not in sealed
    assert (settings.keys_dir / identity.KEY_FILE).stat().st_mode & 0o077 == 0
    assert sm2.public_key(nodes.province_key).hex() == nodes.province.public_key


def test_a_lower_node_caches_the_directory_and_warns_before_expiry(
    session, settings, nodes
) -> None:
    """The lower node's side, in one database for the test: the province's published
    directory is cached once verified; a forged one is refused; warnings name expiry."""
    from gongshu.federation.models import CachedDirectory, NodeSelf

    signed = directory.publish(session, nodes.province_key)
    session.delete(nodes.province)  # this database now plays the city
    session.flush()
    city = NodeSelf(
        node_id=CITY,
        role="city",
        region_code="360100",
        address="http://city.test",
        public_key=sm2.public_key(nodes.city_key).hex(),
        anchor_node="province-360000",
        anchor_key=nodes.province.public_key,
        anchor_address="http://prov.test",
    )
    session.add(city)
    session.flush()
    assert "尚未取得" in directory.warning(session)
    assert not directory.listed(session)
    forged = {**signed, "document": signed["document"].replace("city.test", "evil.test")}
    with pytest.raises(directory.DirectoryInvalid):
        directory.store(session, forged)
    assert directory.cached(session) is None
    row = directory.store(session, signed)
    assert directory.listed(session)
    assert directory.lookup(session, CITY)["address"] == "http://city.test"
    assert directory.warning(session) is None
    soon = row.valid_until - timedelta(hours=2)
    assert "将于" in directory.warning(session, now=soon)
    assert "已于" in directory.warning(session, now=row.valid_until + timedelta(seconds=1))
    row.valid_until = utcnow() - timedelta(seconds=1)  # expired: no longer used
    session.flush()
    assert directory.lookup(session, CITY) is None and not directory.listed(session)
    assert session.scalar(select(func.count()).select_from(CachedDirectory)) == 1


def test_a_tombstone_removes_the_entry_once_and_nothing_brings_it_back(session, nodes) -> None:
    tomb = {"entry_id": 1, "deleted": True, "version_no": 2}
    raw1, h1 = wire(nodes.city_key, 1, "", [change(1, 1), change(2, 1), change(1, 2, "改名")])
    raw2, h2 = wire(nodes.city_key, 2, h1, [tomb])
    raw3, h3 = wire(nodes.city_key, 3, h2, [tomb, change(2, 2)])  # resent: a no-op
    for raw in (raw1, raw2, raw3):
        accept(session, nodes, raw)
    rows = session.scalars(select(FederatedEntry)).all()
    assert [(r.home_entry_id, r.version_no) for r in rows] == [(2, 2)]
    assert refused(session, nodes, raw1).code == "replay"  # a re-sync cannot resurrect it
    # The same id given to a new entry on the city arrives as a new entry.
    raw4, _ = wire(nodes.city_key, 4, h3, [change(1, 1, "新目录")])
    accept(session, nodes, raw4)
    row = session.scalar(select(FederatedEntry).where(FederatedEntry.home_entry_id == 1))
    assert (row.name, row.version_no, row.review_status) == ("新目录", 1, "pending")


def test_a_tombstone_and_the_reused_id_in_one_message(session, nodes) -> None:
    raw1, h1 = wire(nodes.city_key, 1, "", [change(7, 3, "旧目录")])
    raw2, _ = wire(nodes.city_key, 2, h1, [{"entry_id": 7, "deleted": True, "version_no": 3},
                                          change(7, 1, "新目录")])  # fmt: skip
    accept(session, nodes, raw1)
    accept(session, nodes, raw2)
    (row,) = session.scalars(select(FederatedEntry)).all()
    assert (row.home_entry_id, row.name, row.version_no, row.seq) == (7, "新目录", 1, 2)
