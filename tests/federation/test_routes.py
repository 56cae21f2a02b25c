"""The node endpoints over HTTP: the signature is the gate, a refusal is named in
Chinese with its code and writes nothing, an accepted message gets a signed receipt."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from gongshu.federation import envelope, feed, identity
from gongshu.federation.models import FederatedEntry, JoinRequest, Member, Message
from gongshu.protect import sm2

CITY = "city-360100"


def _message(key: bytes, seq: int = 1) -> bytes:
    env = envelope.envelope(
        sender=CITY,
        receiver="province-360000",
        channel=feed.CHANNEL,
        seq=seq,
        prev_hash="",
        kind=feed.KIND,
        payload={
            "changes": [
                {
                    "entry_id": 7,
                    "resource_code": "3601-JT-0007",
                    "name": "公交线路",
                    "tier": "city",
                    "region_code": "360100",
                    "status": "approved",
                    "version_no": 3,
                }
            ]
        },
    )
    text, signature = envelope.sign(key, env)
    return json.dumps({"envelope": text, "signature": signature}).encode()


def test_messages_are_gated_by_the_signature(session, settings, people, client) -> None:
    identity.init_node(
        session, settings, role="province", region_code="360000", address="http://prov.test"
    )
    city_key = sm2.generate_private_key()
    public = sm2.public_key(city_key).hex()
    session.add(
        Member(
            node_id=CITY, role="city", region_code="360100", address="http://c", public_key=public
        )
    )
    session.flush()

    forged = client.post("/federation/v1/messages", content=_message(sm2.generate_private_key()))
    assert forged.status_code == 403
    assert forged.json()["error"] == "bad_signature"
    assert "签名无效" in forged.json()["message"]
    big = client.post("/federation/v1/messages", content=b"{" + b" " * 70_000 + b"}")
    assert big.status_code == 413 and big.json()["error"] == "oversized"
    assert session.scalar(select(func.count()).select_from(Message)) == 0

    first = _message(city_key)
    accepted = client.post("/federation/v1/messages", content=first)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    province = identity.me(session)
    assert envelope.signature_ok(province.public_key, body["receipt"], body["signature"])
    assert session.scalar(select(FederatedEntry.name)) == "公交线路"
    replay = client.post("/federation/v1/messages", content=first)
    assert (replay.status_code, replay.json()["error"]) == (409, "replay")
    renumbered = client.post("/federation/v1/messages", content=_message(city_key))
    assert (renumbered.status_code, renumbered.json()["error"]) == (409, "reorder")
    assert session.scalar(select(func.count()).select_from(Message)) == 1

    head = client.get(f"/federation/v1/chains/{CITY}/catalog").json()
    assert envelope.signature_ok(province.public_key, head["document"], head["signature"])
    assert json.loads(head["document"])["last_seq"] == 1


def test_a_join_request_must_be_signed_by_the_key_it_names(session, settings, people, client):  # noqa: ANN001, ANN201
    identity.init_node(
        session, settings, role="province", region_code="360000", address="http://prov.test"
    )
    key = sm2.generate_private_key()
    doc = {
        "v": 1,
        "kind": "join",
        "node_id": CITY,
        "role": "city",
        "region_code": "360100",
        "public_key": sm2.public_key(key).hex(),
        "address": "http://city.test",
        "to": "province-360000",
        "requested_at": "2026-12-06T10:00:00+00:00",
    }
    text, _ = envelope.sign(key, doc)
    _, other = envelope.sign(sm2.generate_private_key(), doc)
    bad = client.post("/federation/v1/join", json={"document": text, "signature": other})
    assert bad.status_code == 403
    good = client.post(
        "/federation/v1/join", json={"document": text, "signature": envelope.sign(key, doc)[1]}
    )
    assert good.status_code == 202, good.text
    assert session.scalar(select(JoinRequest.status)) == "pending"


def test_the_provincial_authority_approves_on_the_node_page(session, settings, people, login):  # noqa: ANN001, ANN201
    identity.init_node(
        session, settings, role="province", region_code="360000", address="http://prov.test"
    )
    key = sm2.generate_private_key()
    session.add(
        JoinRequest(
            node_id=CITY,
            role="city",
            region_code="360100",
            address="http://city.test",
            public_key=sm2.public_key(key).hex(),
            document="{}",
            signature="00",
        )
    )
    session.add(
        FederatedEntry(
            home_node="county-360102",
            home_entry_id=3,
            resource_code="360102-MZ-0003",
            name="低保对象名单",
            tier="county",
            region_code="360102",
            status="approved",
            version_no=4,
            seq=2,
        )
    )
    session.flush()
    request_id = session.scalar(select(JoinRequest.id))

    city = login("reviewer_city")
    refused = city.post(f"/federation/joins/{request_id}/approve", follow_redirects=False)
    assert refused.status_code == 403
    assert session.scalar(select(JoinRequest.status)) == "pending"

    prov = login("reviewer_prov")
    page = prov.get("/federation/nodes")
    assert page.status_code == 200 and CITY in page.text and "批准加入" in page.text
    done = prov.post(f"/federation/joins/{request_id}/approve", follow_redirects=False)
    assert done.status_code == 303
    assert session.scalar(select(Member.node_id)) == CITY
    listing = prov.get("/federation/entries")
    assert "county-360102" in listing.text and "低保对象名单" in listing.text
    api = prov.get("/api/v1/federation/entries").json()
    assert [(e["home_node"], e["resource_code"]) for e in api] == [
        ("county-360102", "360102-MZ-0003")
    ]

    # The review form: a return without a reason is answered beside the field, keeping
    # the choice; with one, the decision is recorded and shown.
    fed_id = session.scalar(select(FederatedEntry.id))
    missing = prov.post(f"/federation/entries/{fed_id}/review", data={"decision": "returned"})
    assert missing.status_code == 400
    assert f'id="reason-e{fed_id}-error">退回修改须填写退回原因' in missing.text
    assert f'href="#reason-e{fed_id}"' in missing.text
    session.expire_all()
    assert session.get(FederatedEntry, fed_id).review_status == "pending"  # nothing written
    assert 'value="returned" checked' in missing.text
    done = prov.post(
        f"/federation/entries/{fed_id}/review",
        data={"decision": "returned", "reason": "请补充字段说明"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = prov.get(done.headers["location"]).text
    assert "已退回修改" in shown and "请补充字段说明" in shown and "审核结论已记录" in shown
