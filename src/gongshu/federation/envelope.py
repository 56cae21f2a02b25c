"""Signed messages between nodes: canonical JSON, SM3 hashes, SM2 signatures.

Pure functions, no database: the envelope ``{from, to, channel, seq, prev_hash,
sent_at, kind, payload}`` is serialized canonically (sorted keys, no spaces,
UTF-8), hashed with SM3 and signed with the sender's SM2 key (GB/T 32918); a
receipt is a small signed document of the receiver naming the message's hash.
"""

from __future__ import annotations

import json
from typing import Any

from gongshu.protect import sm2
from gongshu.protect.crypto import sm3
from gongshu.timeutil import utcnow

VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024  # a whole signed message on the wire
GENESIS = ""  # prev_hash of the first message of a chain


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(data: bytes) -> str:
    return sm3(data).hex()


def sign(private: bytes, document: dict[str, Any]) -> tuple[str, str]:
    """(canonical text, signature hex) of ``document`` by ``private``."""
    data = canonical(document)
    return data.decode(), sm2.sign(private, data).hex()


def signature_ok(public_hex: str, text: str, signature_hex: str) -> bool:
    try:
        return sm2.verify(bytes.fromhex(public_hex), text.encode(), bytes.fromhex(signature_hex))
    except ValueError:
        return False


def envelope(
    *,
    sender: str,
    receiver: str,
    channel: str,
    seq: int,
    prev_hash: str,
    kind: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    return {
        "v": VERSION,
        "from": sender,
        "to": receiver,
        "channel": channel,
        "seq": seq,
        "prev_hash": prev_hash,
        "sent_at": utcnow().isoformat(),
        "kind": kind,
        "payload": payload,
    }


def receipt(envelope_text: str, receiver: str, status: str = "accepted") -> dict[str, Any]:
    env = json.loads(envelope_text)
    return {
        "v": VERSION,
        "receipt_for": digest(envelope_text.encode()),
        "from": receiver,
        "to": env["from"],
        "channel": env["channel"],
        "seq": env["seq"],
        "status": status,
        "received_at": utcnow().isoformat(),
    }
