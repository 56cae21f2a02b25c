"""Sending a chain's queued messages to a peer: ask the peer for the last number it
accepted (a head signed by the peer), mark everything up to it acknowledged (a
receipt lost on the way), stop on a diverged log, then send the rest in order until
one is refused. Both directions use it: a lower node's catalog feed up to the
province, and the province's review decisions down to a lower node."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.federation import chain, client, envelope, peers
from gongshu.federation.models import Member, Message

log = logging.getLogger(__name__)


def head_document(session: Session, sender: str, channel: str, private: bytes) -> dict[str, Any]:
    """This node's signed statement of the last number and hash it accepted from
    ``sender`` on ``channel`` (the sender resends from there after a partition)."""
    from gongshu.federation.identity import me
    from gongshu.timeutil import utcnow

    node = me(session)
    last = chain.last_in(session, sender, node.node_id, channel)
    doc = {
        "v": envelope.VERSION,
        "from": node.node_id,
        "sender": sender,
        "channel": channel,
        "last_seq": last.seq if last else 0,
        "last_hash": last.hash if last else envelope.GENESIS,
        "at": utcnow().isoformat(),
    }
    text, signature = envelope.sign(private, doc)
    return {"document": text, "signature": signature}


def deliver(
    session: Session,
    *,
    sender: str,
    peer: str,
    peer_key: str,
    base: str,
    channel: str,
) -> dict[str, Any]:
    """Send ``sender``'s unacknowledged messages on (sender, peer, channel) to the peer
    at ``base`` (its ``/federation/v1``). Commits as it goes; a state and counts."""
    try:
        head = client.get(f"{base}/chains/{sender}/{channel}")
    except (client.Unreachable, client.PeerRefused) as exc:
        peers.failed(session, peer, f"无法取得消息链状态：{exc}")
        session.commit()
        return {"state": "peer-away", "sent": 0, "reason": str(exc)}
    text, signature = head.get("document", ""), head.get("signature", "")
    head_doc = json.loads(text) if envelope.signature_ok(peer_key, text, signature) else {}
    if head_doc.get("sender") != sender or head_doc.get("channel") != channel:
        peers.failed(session, peer, "对方的消息链状态签名无效")
        session.commit()
        return {"state": "bad-head", "sent": 0}
    peers.reached(session, peer)
    last_seq, last_hash = int(head_doc["last_seq"]), head_doc["last_hash"]
    chain_of = (
        Message.direction == "out",
        Message.sender == sender,
        Message.receiver == peer,
        Message.channel == channel,
    )
    if last_seq:
        ours = session.scalar(select(Message.hash).where(*chain_of, Message.seq == last_seq))
        if ours != last_hash:  # the two logs diverged (a database restored on one side)
            reason = f"与节点 {peer} 的消息链分叉：对方已接收至第 {last_seq} 号，与本节点记录不符"
            log.warning(reason)
            return {"state": "diverged", "sent": 0, "reason": reason}
    for row in session.scalars(
        select(Message).where(*chain_of, Message.seq <= last_seq, Message.acked.is_(False))
    ):
        row.acked = True  # accepted before; its receipt was lost on the way
    session.commit()
    sent = 0
    pending = session.scalars(
        select(Message).where(*chain_of, Message.seq > last_seq).order_by(Message.seq)
    ).all()
    for row in pending:
        wire = json.dumps({"envelope": row.envelope, "signature": row.signature}).encode()
        try:
            chain.take_receipt(session, row, client.post(base + "/messages", wire), peer_key)
        except client.Unreachable as exc:
            peers.failed(session, peer, f"发送第 {row.seq} 号消息时无法连接：{exc}")
            session.commit()
            return {"state": "peer-away", "sent": sent, "reason": str(exc)}
        except (client.PeerRefused, ValueError) as exc:
            row.last_error = str(exc)
            peers.failed(session, peer, f"第 {row.seq} 号消息被拒：{exc}")
            session.commit()
            return {"state": "refused", "sent": sent, "reason": str(exc)}
        session.commit()
        sent += 1
    return {"state": "ok", "sent": sent, "last_seq": last_seq}


def push_queued(session: Session, sender: str, channel: str) -> dict[str, Any]:
    """``deliver`` on ``channel`` to every member with messages not yet acknowledged
    (the province's review decisions, the national node's status reports)."""
    waiting = session.scalars(
        select(Message.receiver)
        .where(Message.direction == "out", Message.channel == channel, Message.acked.is_(False))
        .distinct()
    ).all()
    results = {}
    for peer_id in waiting:
        member = session.scalar(select(Member).where(Member.node_id == peer_id))
        if member is None:
            continue
        results[peer_id] = deliver(
            session,
            sender=sender,
            peer=peer_id,
            peer_key=member.public_key,
            base=member.address + "/federation/v1",
            channel=channel,
        )
    return results
