"""Tables of the federation: this node, the directory it trusts, join requests and
members (province), the message chains both ways, the federated entries (province)
and what the change feed has already queued (lower nodes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base
from gongshu.timeutil import utcnow

ROLES = ("province", "city", "county", "national")
JOIN_STATUSES = ("pending", "approved", "refused")
ROLE_LABELS = {
    "province": "省级节点",
    "city": "市级节点",
    "county": "县级节点",
    "national": "国家级登记节点",
}
CHANNEL_LABELS = {
    "catalog": "目录变更",
    "review": "目录审核结论",
    "registration": "国家登记报送",
    "registration-status": "国家登记进度",
    "sharing": "跨节点共享",
}
REVIEW_LABELS = {"pending": "待审核", "merged": "已并入省级目录", "returned": "已退回修改"}
# National registration (issue 18 item 6): the steps a record goes through at the
# national registry (申请, 受理, 形式审核, 公示, 赋码) and their refusal branches, and
# the province's own state before the national registry answers.
NATIONAL_LABELS = {
    "queued": "已报送，待国家登记平台受理",
    "applied": "已申请",
    "accepted": "已受理",
    "refused": "不予受理",
    "check_failed": "形式审核未通过",
    "publicity": "公示中",
    "objected": "公示期有异议，处理中",
    "rejected": "异议成立，不予赋码",
    "coded": "已赋码",
}
OBJECTION_LABELS = {"open": "待处理", "upheld": "异议成立", "dismissed": "异议不成立"}


class NodeSelf(Base):
    """This instance as a node (one row). The private key is not here: it is sealed in
    the keys directory (``identity``)."""

    __tablename__ = "federation_self"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(String(300))
    public_key: Mapped[str] = mapped_column(String(130))  # 04||x||y, hex
    # The province this node trusts (out-of-band anchor): None on the province itself.
    anchor_node: Mapped[str | None] = mapped_column(String(64))
    anchor_key: Mapped[str | None] = mapped_column(String(130))
    anchor_address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CachedDirectory(Base):
    """The newest signed directory fetched from the province, verified against the
    anchor key before it was stored; used while the province is away."""

    __tablename__ = "federation_directory"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)  # canonical JSON as signed
    signature: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime]
    valid_until: Mapped[datetime]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class JoinRequest(Base):
    """A lower node's signed request to join (province side)."""

    __tablename__ = "federation_join_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(String(300))
    public_key: Mapped[str] = mapped_column(String(130))
    document: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(96))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Member(Base):
    """An approved node (province side): what the published directory lists."""

    __tablename__ = "federation_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(String(300))
    public_key: Mapped[str] = mapped_column(String(130))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """One signed message of a chain (``direction`` out: sent by this node, in:
    accepted from a peer), with the peer's signed receipt once there is one. The
    sender's and receiver's keys are kept on the row so the log verifies offline."""

    __tablename__ = "federation_messages"
    __table_args__ = (UniqueConstraint("direction", "sender", "receiver", "channel", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(4))  # out | in
    sender: Mapped[str] = mapped_column(String(64))
    receiver: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(48))
    hash: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[str] = mapped_column(Text)  # canonical JSON as signed
    signature: Mapped[str] = mapped_column(String(128))
    sender_key: Mapped[str] = mapped_column(String(130))
    receipt: Mapped[str | None] = mapped_column(Text)
    receipt_signature: Mapped[str | None] = mapped_column(String(128))
    receiver_key: Mapped[str | None] = mapped_column(String(130))
    acked: Mapped[bool] = mapped_column(default=False, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FederatedEntry(Base):
    """A lower node's catalog entry as the province knows it (CAT-2), keyed by its home
    node and its id there; the newest version wins, an older or equal one is ignored."""

    __tablename__ = "federated_entries"
    __table_args__ = (UniqueConstraint("home_node", "home_entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    home_node: Mapped[str] = mapped_column(String(64), index=True)
    home_entry_id: Mapped[int]
    resource_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(16))
    version_no: Mapped[int]
    published_version: Mapped[int | None]
    provincial: Mapped[bool] = mapped_column(default=False)
    sharing_attr: Mapped[str] = mapped_column(String(16), default="")
    opening_attr: Mapped[str] = mapped_column(String(16), default="")
    seq: Mapped[int]  # the message that brought this version
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The province's review (CAT-2) of the version ``reviewed_version``: pending until
    # decided, and pending again when a newer version arrives.
    review_status: Mapped[str] = mapped_column(String(16), default="pending")
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_version: Mapped[int | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(96))
    reviewed_at: Mapped[datetime | None]


class ProvincialReview(Base):
    """Lower node: the province's review decision (CAT-2) on one version of one of this
    node's entries, as it arrived down the review channel."""

    __tablename__ = "federation_reviews"
    __table_args__ = (UniqueConstraint("entry_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(index=True)
    version_no: Mapped[int]
    decision: Mapped[str] = mapped_column(String(16))  # merged | returned
    reason: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime]
    seq: Mapped[int]  # the message that brought it
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class PeerContact(Base):
    """When this node last reached a peer (a signed answer or message from it) and its
    last failure, for the node page's alerts (issue 18 item 7)."""

    __tablename__ = "federation_peers"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_ok_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_failure: Mapped[str | None] = mapped_column(Text)


class FeedMark(Base):
    """Lower node: the newest version of each entry already queued to the province, and
    the entry's creation time, which tells the entry marked from a later entry given
    the same id (SQLite reuses the highest id after a deletion)."""

    __tablename__ = "federation_feed_marks"

    entry_id: Mapped[int] = mapped_column(primary_key=True)
    version_no: Mapped[int]
    entry_created_at: Mapped[datetime | None]


class NationalRecord(Base):
    """National registry: one registration a province submitted, keyed by (province,
    the province's registration id), through 申请, 受理, 形式审核, 公示 and 赋码. A
    resend of the same revision changes nothing; a newer revision is checked again and
    keeps its code. ``history`` lists each step ``{step, status, at, note}``."""

    __tablename__ = "national_records"
    __table_args__ = (UniqueConstraint("province", "province_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(64), index=True)
    province_ref: Mapped[int]
    revision: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    registrant: Mapped[str] = mapped_column(String(200))
    registrant_region: Mapped[str] = mapped_column(String(12))
    province_code: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict]
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(48))
    publicity_until: Mapped[datetime | None]
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    coded_at: Mapped[datetime | None]
    history: Mapped[list] = mapped_column(default=list)
    # Steps not yet queued down to the province (the sync tick reports them).
    unreported: Mapped[bool] = mapped_column(default=True, index=True)
    reported_steps: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NationalObjection(Base):
    """National registry: an objection raised during a record's publicity period; an
    open one holds the code back until the national authority decides it."""

    __tablename__ = "national_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(index=True)
    objector: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    decided_by: Mapped[str | None] = mapped_column(String(96))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NationalSubmission(Base):
    """Province: a registration submitted to the national registry, its revision (the
    approved version sent), the national status and unified code as they came back."""

    __tablename__ = "national_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(unique=True)
    revision: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    submitted_by: Mapped[str] = mapped_column(String(96))
    national_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(48))
    publicity_until: Mapped[datetime | None]
    history: Mapped[list] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# Sharing across nodes (issue 18 item 4): the states both nodes hold; the last three
# and ``refused`` are terminal, every other state has a deadline.
SHARING_LABELS = {
    "submitted": "已提交",
    "accepted": "已受理",
    "referred": "已转报数据管理部门",
    "refused": "已拒绝",
    "granted": "已同意并授权",
    "revoked": "已撤销",
    "expired": "已到期",
}


class CrossSharing(Base):
    """A sharing application across nodes, held by both: the consumer node (its
    agency applied) and the provider node (the entry's home, where a local sharing
    application runs the same gates and clock on behalf of the remote agency)."""

    __tablename__ = "federation_sharing"
    __table_args__ = (UniqueConstraint("consumer_node", "ref", "side"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    side: Mapped[str] = mapped_column(String(8))  # consumer | provider
    ref: Mapped[str] = mapped_column(String(32))  # the consumer's reference, on both
    consumer_node: Mapped[str] = mapped_column(String(64))
    provider_node: Mapped[str] = mapped_column(String(64), index=True)
    entry_id: Mapped[int]  # the provider node's catalog entry
    entry_name: Mapped[str | None] = mapped_column(String(200))
    org_ref: Mapped[int]  # the consuming organization's id on the consumer node
    org_name: Mapped[str] = mapped_column(String(128))
    org_region: Mapped[str] = mapped_column(String(12))
    applicant: Mapped[str] = mapped_column(String(96))
    request: Mapped[dict] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reported_state: Mapped[str | None] = mapped_column(String(16))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime | None]
    deadline_warning: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    application_id: Mapped[int | None]  # provider: the local sharing application
    proxy_user_id: Mapped[int | None]  # provider: who stands for the remote agency
    grant_id: Mapped[int | None]  # provider: the grant the approval created
    grant_expires_at: Mapped[datetime | None]
    fetches: Mapped[int] = mapped_column(default=0)  # last fetch number used / accepted
    history: Mapped[list] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
