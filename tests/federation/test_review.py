"""The province's review of lower catalogs (CAT-2) and its way back down (issue 18 item
3): only the province's data authority decides, a return needs a reason, a decision
travels as a signed message on the review channel, a newer version waits for review
again; a lower node takes decisions only from its province and only on its own
entries, once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from gongshu.catalog import service as catalog
from gongshu.errors import Forbidden, InvalidInput
from gongshu.federation import chain, envelope, feed, identity, review
from gongshu.federation.models import FederatedEntry, Message, ProvincialReview
from gongshu.ledger import LedgerEntry
from gongshu.protect import sm2

from .test_chain import CITY, accept, change, wire

PROVINCE = "province-360000"


def _one_entry(session, nodes) -> FederatedEntry:  # noqa: ANN001
    raw, _ = wire(nodes.city_key, 1, "", [change(7, 1)])
    accept(session, nodes, raw)
    return session.scalar(select(FederatedEntry))


def test_the_province_reviews_and_the_decision_is_queued_down(session, nodes, people) -> None:
    row = _one_entry(session, nodes)
    assert row.review_status == "pending"
    key = nodes.province_key
    with pytest.raises(Forbidden, match="省级数据管理部门"):
        review.decide(
            session, row.id, actor=people.reviewer_city, decision="merged", reason="", private=key
        )
    with pytest.raises(InvalidInput, match="退回原因") as caught:
        review.decide(
            session,
            row.id,
            actor=people.reviewer_prov,
            decision="returned",
            reason=" ",
            private=key,
        )
    assert caught.value.detail == {"field": "reason"}
    with pytest.raises(InvalidInput) as caught:
        review.decide(
            session, row.id, actor=people.reviewer_prov, decision="x", reason="", private=key
        )
    assert caught.value.detail == {"field": "decision"}
    assert (
        session.scalar(select(func.count()).select_from(Message).where(Message.direction == "out"))
        == 0
    )

    review.decide(
        session,
        row.id,
        actor=people.reviewer_prov,
        decision="returned",
        reason="缺少字段说明",
        private=key,
    )
    assert (row.review_status, row.reviewed_version) == ("returned", 1)
    (sent,) = session.scalars(select(Message).where(Message.direction == "out")).all()
    env = json.loads(sent.envelope)
    assert (sent.receiver, sent.channel, env["kind"], env["seq"]) == (
        CITY,
        "review",
        review.KIND,
        1,
    )
    (decision,) = env["payload"]["decisions"]
    assert (decision["entry_id"], decision["decision"], decision["reason"]) == (
        7,
        "returned",
        "缺少字段说明",
    )
    assert envelope.signature_ok(nodes.province.public_key, sent.envelope, sent.signature)
    assert (
        session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.action == "federation.review_decided")
        )
        == 1
    )

    # Decided once per version; the city's next version waits for review again.
    with pytest.raises(Exception, match="已审核"):
        review.decide(
            session, row.id, actor=people.reviewer_prov, decision="merged", reason="", private=key
        )
    raw, _ = wire(
        nodes.city_key,
        2,
        session.scalar(select(Message.hash).where(Message.direction == "in")),
        [change(7, 2)],
    )
    accept(session, nodes, raw)
    assert (row.review_status, row.version_no, row.reviewed_version) == ("pending", 2, 1)
    review.decide(
        session, row.id, actor=people.reviewer_prov, decision="merged", reason="", private=key
    )
    assert [m.seq for m in session.scalars(select(Message).where(Message.channel == "review"))] == [
        1,
        2,
    ]


def _city(session, settings, people):  # noqa: ANN001, ANN202
    province_key = sm2.generate_private_key()
    identity.init_node(
        session,
        settings,
        role="city",
        region_code="360100",
        address="http://city.test",
        anchor={
            "node_id": PROVINCE,
            "public_key": sm2.public_key(province_key).hex(),
            "address": "http://prov.test",
        },
    )
    return province_key


def _decision(key: bytes, seq: int, prev: str, items: list, *, sender: str = PROVINCE) -> bytes:
    env = envelope.envelope(
        sender=sender,
        receiver=CITY,
        channel=review.CHANNEL,
        seq=seq,
        prev_hash=prev,
        kind=review.KIND,
        payload={"decisions": items},
    )
    text, signature = envelope.sign(key, env)
    return json.dumps({"envelope": text, "signature": signature}).encode()


def _item(entry_id: int, decision: str = "returned", version: int = 1) -> dict:
    return {
        "entry_id": entry_id,
        "version_no": version,
        "decision": decision,
        "reason": "请补充更新频率",
        "reviewer": "省数据局",
        "decided_at": "2026-12-06T08:00:00+00:00",
    }


def test_a_city_takes_decisions_only_from_its_province_on_its_own_entries(
    session, settings, people
) -> None:
    province_key = _city(session, settings, people)
    own = catalog.create(
        session,
        {"resource_code": "360102-R-1", "name": "低保对象", "summary": "测试"},
        actor=people.clerk_county,
    )
    provincial = catalog.create(
        session,
        {"resource_code": "360000-R-2", "name": "户籍人口", "summary": "测试"},
        actor=people.clerk_prov,
    )
    city_key = identity.private_key(settings)

    def take(raw: bytes) -> dict:
        with session.begin_nested():
            return chain.accept(session, raw, city_key, review.APPLIERS)

    with pytest.raises(chain.Refused) as caught:  # a province's decision on the province's entry
        take(_decision(province_key, 1, "", [_item(provincial.id)]))
    assert "不是本节点的目录" in caught.value.message
    with pytest.raises(chain.Refused) as caught:  # signed by anyone else
        take(_decision(sm2.generate_private_key(), 1, "", [_item(own.id)]))
    assert caught.value.code == "bad_signature"
    assert session.scalar(select(func.count()).select_from(ProvincialReview)) == 0

    first = _decision(province_key, 1, "", [_item(own.id), _item(own.id)])
    take(first)
    ((held, entry),) = review.received(session)
    assert (entry.id, held.decision, held.reason, held.reviewer) == (
        own.id,
        "returned",
        "请补充更新频率",
        "省数据局",
    )
    with pytest.raises(chain.Refused) as caught:
        take(first)
    assert caught.value.code == "replay"
    assert session.scalar(select(func.count()).select_from(ProvincialReview)) == 1
    assert feed.enqueue(session, city_key) == 1  # receiving a decision is no catalog change
    assert feed.enqueue(session, city_key) == 0


def test_a_city_refuses_catalog_changes_pushed_to_it(session, settings, people) -> None:
    """The feed goes up only: a city accepts no other node's catalog changes."""
    from .test_chain import change

    province_key = _city(session, settings, people)
    env = envelope.envelope(
        sender=PROVINCE,
        receiver=CITY,
        channel=feed.CHANNEL,
        seq=1,
        prev_hash="",
        kind=feed.KIND,
        payload={"changes": [change(1, 1)]},
    )
    text, signature = envelope.sign(province_key, env)
    raw = json.dumps({"envelope": text, "signature": signature}).encode()
    with pytest.raises(chain.Refused) as caught, session.begin_nested():
        chain.accept(session, raw, identity.private_key(settings), feed.APPLIERS)
    assert "只有省级节点" in caught.value.message


def test_a_decision_on_a_draft_deleted_meanwhile_does_not_stop_the_channel(
    session, settings, people
) -> None:
    from gongshu.catalog import drafts

    province_key = _city(session, settings, people)
    own = catalog.create(
        session,
        {"resource_code": "360102-R-3", "name": "低保对象", "summary": "测试"},
        actor=people.clerk_county,
    )
    gone = catalog.create(
        session,
        {"resource_code": "360102-R-4", "name": "临时目录", "summary": "测试"},
        actor=people.clerk_county,
    )
    gone_id = gone.id
    drafts.delete_draft(session, gone_id, actor=people.clerk_county)
    city_key = identity.private_key(settings)
    with session.begin_nested():
        chain.accept(
            session,
            _decision(province_key, 1, "", [_item(gone_id), _item(own.id)]),
            city_key,
            review.APPLIERS,
        )
    assert [held.entry_id for held, _ in review.received(session)] == [own.id]
