"""Message chains: accepting a peer's message, and re-verifying the log offline.

A chain is (sender, receiver, channel). The receiver accepts a message only when
the sender is in the directory, the SM2 signature holds under the directory's key
for it, ``seq`` is the last accepted + 1 and ``prev_hash`` is the SM3 hash of the
last accepted message. Anything else is refused with a named reason and nothing is
written; an accepted message, its effect (``apply``), the signed receipt and the
ledger entry are written in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.federation import directory, envelope, peers
from gongshu.federation.identity import me
from gongshu.federation.models import Message
from gongshu.ledger import record
from gongshu.protect import sm2

# Refusal codes and the reason a person reads.
REASONS = {
    "oversized": "消息过大：超过 {limit} 字节的上限",
    "malformed": "消息格式错误：{detail}",
    "wrong_receiver": "消息的接收方 {to} 不是本节点",
    "unknown_node": "未知节点：{sender} 不在节点目录中（或目录已过期）",
    "bad_signature": "签名无效：与节点目录中 {sender} 的公钥不符",
    "replay": "重放：{sender} 在通道 {channel} 的第 {seq} 号消息已接收过",
    "reorder": "序号错乱：第 {seq} 号已被另一条消息占用（已接收至第 {last} 号）",
    "gap": "缺号：应为第 {expected} 号，收到第 {seq} 号",
    "broken_chain": "前序哈希不符：第 {seq} 号消息未接在已接收的第 {last} 号之后",
    "unknown_kind": "不支持的消息类型：{kind}",
}


class Refused(Exception):
    def __init__(self, code: str, **facts: Any) -> None:  # noqa: ANN401
        self.code = code
        self.facts = facts
        super().__init__(REASONS[code].format(**facts))

    @property
    def message(self) -> str:
        return str(self)


def last_in(session: Session, sender: str, receiver: str, channel: str) -> Message | None:
    return session.scalar(
        select(Message)
        .where(
            Message.direction == "in",
            Message.sender == sender,
            Message.receiver == receiver,
            Message.channel == channel,
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )


def last_out(session: Session, sender: str, receiver: str, channel: str) -> Message | None:
    return session.scalar(
        select(Message)
        .where(
            Message.direction == "out",
            Message.sender == sender,
            Message.receiver == receiver,
            Message.channel == channel,
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )


def parse(raw: bytes) -> tuple[dict[str, Any], str, str]:
    """(envelope, canonical text, signature) of a wire message ``{"envelope": text,
    "signature": hex}``; ``Refused`` when it is too big or not one."""
    if len(raw) > envelope.MAX_MESSAGE_BYTES:
        raise Refused("oversized", limit=envelope.MAX_MESSAGE_BYTES)
    try:
        wire = json.loads(raw)
        text, signature = wire["envelope"], wire["signature"]
        env = json.loads(text)
        if envelope.canonical(env).decode() != text:
            raise ValueError("正文不是规范 JSON")
        for key in ("from", "to", "channel", "kind"):
            if not isinstance(env.get(key), str):
                raise ValueError(f"缺少字段 {key}")
        if not isinstance(env.get("seq"), int) or env["seq"] < 1:
            raise ValueError("序号 seq 应为正整数")
        if not isinstance(env.get("prev_hash"), str) or not isinstance(env.get("payload"), dict):
            raise ValueError("缺少字段 prev_hash 或 payload")
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused("malformed", detail=str(exc)) from exc
    return env, text, signature


def accept(
    session: Session,
    raw: bytes,
    private: bytes,
    appliers: dict[str, Callable[[Session, dict[str, Any], Message], None]],
) -> dict[str, Any]:
    """Check, apply and store one message; returns the signed receipt. ``Refused``
    before anything is written (the caller's transaction is rolled back on any error)."""
    env, text, signature = parse(raw)
    node = me(session)
    sender, channel, seq = env["from"], env["channel"], env["seq"]
    if env["to"] != node.node_id:
        raise Refused("wrong_receiver", to=env["to"])
    peer = directory.lookup(session, sender)
    if peer is None:
        raise Refused("unknown_node", sender=sender)
    if not envelope.signature_ok(peer["public_key"], text, signature):
        raise Refused("bad_signature", sender=sender)
    if env["kind"] not in appliers:
        raise Refused("unknown_kind", kind=env["kind"])
    last = last_in(session, sender, node.node_id, channel)
    last_seq = last.seq if last else 0
    if seq <= last_seq:
        done = session.scalar(
            select(Message.hash).where(
                Message.direction == "in",
                Message.sender == sender,
                Message.receiver == node.node_id,
                Message.channel == channel,
                Message.seq == seq,
            )
        )
        if done == envelope.digest(text.encode()):
            raise Refused("replay", sender=sender, channel=channel, seq=seq)
        raise Refused("reorder", seq=seq, last=last_seq)
    if seq != last_seq + 1:
        raise Refused("gap", expected=last_seq + 1, seq=seq)
    if env["prev_hash"] != (last.hash if last else envelope.GENESIS):
        raise Refused("broken_chain", seq=seq, last=last_seq)
    receipt_doc = envelope.receipt(text, node.node_id)
    receipt_text, receipt_sig = envelope.sign(private, receipt_doc)
    row = Message(
        direction="in",
        sender=sender,
        receiver=node.node_id,
        channel=channel,
        seq=seq,
        kind=env["kind"],
        hash=envelope.digest(text.encode()),
        envelope=text,
        signature=signature,
        sender_key=peer["public_key"],
        receipt=receipt_text,
        receipt_signature=receipt_sig,
        receiver_key=node.public_key,
        acked=True,
    )
    session.add(row)
    session.flush()
    appliers[env["kind"]](session, env, row)
    peers.reached(session, sender)
    record(
        session,
        "federation.received",
        actor=f"node:{sender}",
        subject=f"federation:{sender}>{node.node_id}/{channel}#{seq}",
        payload={
            "hash": row.hash,
            "kind": env["kind"],
            "receipt": envelope.digest(receipt_text.encode()),
        },
    )
    return {"receipt": receipt_text, "signature": receipt_sig}


def queue(
    session: Session,
    private: bytes,
    *,
    receiver: str,
    channel: str,
    kind: str,
    payload: dict[str, Any],
) -> Message:
    """Sign the next message of this node's chain to ``receiver`` and keep it to send."""
    node = me(session)
    last = last_out(session, node.node_id, receiver, channel)
    env = envelope.envelope(
        sender=node.node_id,
        receiver=receiver,
        channel=channel,
        seq=(last.seq if last else 0) + 1,
        prev_hash=last.hash if last else envelope.GENESIS,
        kind=kind,
        payload=payload,
    )
    text, signature = envelope.sign(private, env)
    row = Message(
        direction="out",
        sender=node.node_id,
        receiver=receiver,
        channel=channel,
        seq=env["seq"],
        kind=kind,
        hash=envelope.digest(text.encode()),
        envelope=text,
        signature=signature,
        sender_key=node.public_key,
    )
    session.add(row)
    session.flush()
    record(
        session,
        "federation.sent",
        actor=f"node:{node.node_id}",
        subject=f"federation:{node.node_id}>{receiver}/{channel}#{row.seq}",
        payload={"hash": row.hash, "kind": kind},
    )
    return row


def take_receipt(session: Session, row: Message, signed: dict[str, Any], peer_key: str) -> None:
    """Store the peer's receipt for ``row`` once its signature and contents hold."""
    text, signature = signed.get("receipt"), signed.get("signature")
    if not isinstance(text, str) or not isinstance(signature, str):
        raise ValueError("回执格式错误")
    if not envelope.signature_ok(peer_key, text, signature):
        raise ValueError("回执签名无效")
    doc = json.loads(text)
    if doc.get("receipt_for") != row.hash or doc.get("seq") != row.seq:
        raise ValueError("回执与所发消息不符")
    row.receipt, row.receipt_signature, row.receiver_key = text, signature, peer_key
    row.acked, row.last_error = True, None
    record(
        session,
        "federation.acknowledged",
        actor=f"node:{row.receiver}",
        subject=f"federation:{row.sender}>{row.receiver}/{row.channel}#{row.seq}",
        payload={"hash": row.hash, "receipt": envelope.digest(text.encode())},
    )


@dataclass
class LogReport:
    messages: int = 0
    receipts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_log(session: Session) -> LogReport:
    """Re-verify every chain from the stored rows alone: hashes, signatures, sequence,
    links and receipts (offline: the keys are on the rows)."""
    report = LogReport()
    chains = session.execute(
        select(Message.direction, Message.sender, Message.receiver, Message.channel)
        .group_by(Message.direction, Message.sender, Message.receiver, Message.channel)
        .order_by(func.min(Message.id))
    ).all()
    for direction, sender, receiver, channel in chains:
        name = f"{'发出' if direction == 'out' else '收到'} {sender}>{receiver}/{channel}"
        rows = session.scalars(
            select(Message)
            .where(
                Message.direction == direction,
                Message.sender == sender,
                Message.receiver == receiver,
                Message.channel == channel,
            )
            .order_by(Message.seq)
        ).all()
        prev = envelope.GENESIS
        for expected, row in enumerate(rows, start=1):
            report.messages += 1
            env = json.loads(row.envelope)
            where = f"{name} 第 {row.seq} 号"
            if row.seq != expected or env.get("seq") != row.seq:
                report.problems.append(f"{where}：序号不连续（应为 {expected}）")
            if envelope.digest(row.envelope.encode()) != row.hash:
                report.problems.append(f"{where}：哈希与正文不符")
            if env.get("prev_hash") != prev:
                report.problems.append(f"{where}：前序哈希不符")
            if not envelope.signature_ok(row.sender_key, row.envelope, row.signature):
                report.problems.append(f"{where}：发送方签名无效")
            if row.receipt is not None:
                report.receipts += 1
                ok = envelope.signature_ok(
                    row.receiver_key or "", row.receipt, row.receipt_signature or ""
                )
                if not ok or json.loads(row.receipt).get("receipt_for") != row.hash:
                    report.problems.append(f"{where}：回执签名无效或与消息不符")
            prev = row.hash
    return report


def fingerprint(public_hex: str) -> str:
    return sm2.fingerprint(bytes.fromhex(public_hex))
