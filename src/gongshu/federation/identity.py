"""This node's identity: its SM2 key pair and its row in ``federation_self``.

The private key is created once by ``gongshu node init`` and sealed at rest: SM4-GCM
under a data key of the instance key store (purpose ``federation-node``, itself
wrapped under the instance secret), written to ``keys/federation-sm2.sealed``
(mode 600). Neither the file nor the database ever holds it in the clear.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.errors import Conflict, InvalidInput
from gongshu.federation.models import ROLES, NodeSelf
from gongshu.protect import sm2
from gongshu.protect.crypto import sm4_gcm_decrypt, sm4_gcm_encrypt
from gongshu.protect.keystore import FileKeyStore

KEY_FILE = "federation-sm2.sealed"
PURPOSE = "federation-node"
_REGION = re.compile(r"^\d{6}$")


class NotANode(Conflict):
    """The instance has not been made a node (``gongshu node init``)."""


def node_id(role: str, region_code: str) -> str:
    return f"{role}-{region_code}"


def _aad(node: str) -> bytes:
    return f"federation-sm2|{node}".encode()


def create_key(settings: Any, node: str) -> bytes:  # noqa: ANN401 - gongshu.config.Settings
    """A fresh SM2 private key, sealed to the keys directory; refuses to replace one."""
    path = Path(settings.keys_dir) / KEY_FILE
    if path.exists():
        raise Conflict(f"节点密钥文件已存在：{path}，不会覆盖")
    private = sm2.generate_private_key()
    key_id, data_key = FileKeyStore.from_settings(settings).current(PURPOSE)
    sealed = sm4_gcm_encrypt(data_key, private, _aad(node))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"node": node, "key_id": key_id, "sealed": base64.b64encode(sealed).decode()}, fh)
    return private


def private_key(settings: Any) -> bytes:  # noqa: ANN401
    path = Path(settings.keys_dir) / KEY_FILE
    if not path.exists():
        raise NotANode("本实例缺少联邦节点密钥：请管理员先运行 gongshu node init")
    doc = json.loads(path.read_text())
    data_key = FileKeyStore.from_settings(settings).get(doc["key_id"])
    return sm4_gcm_decrypt(data_key, base64.b64decode(doc["sealed"]), _aad(doc["node"]))


def me(session: Session) -> NodeSelf:
    node = session.scalar(select(NodeSelf))
    if node is None:
        raise NotANode("本实例尚未初始化为联邦节点：请先运行 gongshu node init")
    return node


def maybe_me(session: Session) -> NodeSelf | None:
    return session.scalar(select(NodeSelf))


def init_node(
    session: Session,
    settings: Any,  # noqa: ANN401
    *,
    role: str,
    region_code: str,
    address: str,
    anchor: dict[str, Any] | None = None,
) -> NodeSelf:
    if role not in ROLES:
        raise InvalidInput(f"节点角色无效：{role}，应为 {'、'.join(ROLES)} 之一")
    if not _REGION.match(region_code):
        raise InvalidInput(f"区划代码应为 6 位数字，收到：{region_code}")
    if not address.startswith(("http://", "https://")):
        raise InvalidInput(f"节点地址应以 http:// 或 https:// 开头，收到：{address}")
    if maybe_me(session) is not None:
        raise Conflict("本实例已是联邦节点，不能再次初始化")
    if role in ("city", "county") and anchor is None:
        raise InvalidInput("下级节点须用 --anchor 给出省级节点的信任锚文件")
    if role == "national" and anchor is not None:
        raise InvalidInput("国家级登记节点不加入省级节点：省级节点用 gongshu node dock 认定它")
    node = node_id(role, region_code)
    private = create_key(settings, node)
    row = NodeSelf(
        node_id=node,
        role=role,
        region_code=region_code,
        address=address.rstrip("/"),
        public_key=sm2.public_key(private).hex(),
    )
    if anchor is not None:
        row.anchor_node = anchor["node_id"]
        row.anchor_key = anchor["public_key"]
        row.anchor_address = anchor["address"].rstrip("/")
    session.add(row)
    session.flush()
    return row


def anchor_of(node: NodeSelf) -> dict[str, Any]:
    """What a province hands out of band: its id, public key and address."""
    return {
        "node_id": node.node_id,
        "role": node.role,
        "region_code": node.region_code,
        "public_key": node.public_key,
        "fingerprint": sm2.fingerprint(bytes.fromhex(node.public_key)),
        "address": node.address,
    }


ANCHOR_WHAT = {"province": "省级节点", "national": "国家级登记节点"}


def read_anchor(path: Path, role: str = "province") -> dict[str, Any]:
    """The anchor file of a ``role`` node (its id, public key and address)."""
    try:
        doc = json.loads(path.read_text())
        sm2.public_pem(bytes.fromhex(doc["public_key"]))  # raises unless on the curve
        if doc.get("role") != role or not doc.get("address") or not doc.get("node_id"):
            raise ValueError(f"not a {role} anchor")
        if doc.get("node_id") != node_id(role, str(doc.get("region_code"))):
            raise ValueError("node_id does not match role and region")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"信任锚文件 {path} 无法读取或不是{ANCHOR_WHAT[role]}的锚：{exc}"
        ) from exc
    return doc
