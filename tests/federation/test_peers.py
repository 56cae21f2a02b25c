"""Operations (issue 18 item 7): the node remembers when it last reached each peer and
why it last failed, and warns when a peer stays unreachable past the threshold."""

from __future__ import annotations

from datetime import timedelta

from gongshu.federation import feed, identity, peers
from gongshu.federation.models import Member
from gongshu.protect import sm2
from gongshu.timeutil import utcnow

from .test_chain import CITY, accept, change, wire


def test_an_unreachable_province_is_recorded_and_alerted(session, settings, people, login) -> None:
    identity.init_node(
        session,
        settings,
        role="city",
        region_code="360100",
        address="http://city.test",
        anchor={
            "node_id": "province-360000",
            "public_key": sm2.public_key(sm2.generate_private_key()).hex(),
            "address": "http://127.0.0.1:9",  # nothing listens there
        },
    )
    result = feed.sync(session, settings)
    assert result["state"] == "not-joined"
    (peer,) = peers.known(session)
    assert peer["node_id"] == "province-360000" and peer["last_ok_at"] is None
    assert "无法取得节点目录" in peer["last_failure"]
    assert peers.alerts(session, 10) == []  # not yet past the threshold
    (alert,) = peers.alerts(session, 10, now=utcnow() + timedelta(minutes=11))
    assert "province-360000" in alert and "无法取得节点目录" in alert

    page = login("admin").get("/federation/nodes")
    assert page.status_code == 200
    assert "市级节点" in page.text and "尚未联系" in page.text and "无法取得节点目录" in page.text


def test_the_province_hears_from_a_member_when_it_accepts_its_message(session, nodes) -> None:
    member = session.get(Member, 1) or session.query(Member).one()
    member.approved_at = utcnow() - timedelta(hours=1)
    assert [a for a in peers.alerts(session, 10) if CITY in a]  # never heard from in an hour
    raw, _ = wire(nodes.city_key, 1, "", [change(1, 1)])
    accept(session, nodes, raw)
    (peer,) = peers.known(session)
    assert peer["last_ok_at"] is not None
    assert peers.alerts(session, 10) == []
