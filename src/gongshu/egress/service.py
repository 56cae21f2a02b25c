"""The one door data leaves through (DESIGN.md mechanism 1; SHR-5, SEC-3, SEC-4).

``deliver`` is the only function that reads dataset contents for someone
other than the providing agency. It checks the grant (recipient, entry and
version, columns, rows, purpose, expiry), applies the grant's masking policy,
embeds the recipient's watermark when the protect toolkit provides one,
writes the result to a file batch by batch, hashes it, and records a
delivery and a ledger entry in the caller's transaction. The caller streams
the file and removes it. A large delivery's per-batch work (withholding, masking,
marks) may run on the Spark executors (``egress.cluster``): the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.db import begin_write
from gongshu.egress import formats, gates, masking, query
from gongshu.egress.errors import (
    BadRowFilter,
    GrantInactive,
    GrantNotFound,
    NotGrantable,
    NotRecipient,
)
from gongshu.egress.marking import (
    Protection,
    door_keys,
    pipelined,
    unmarked_columns,
    watermarker,
)
from gongshu.egress.models import Delivery, Grant, MaskingPolicy, MaskingPolicyVersion
from gongshu.egress.policies import (
    default_policy,
    get_policy,
    plan,
)
from gongshu.egress.versions import column_tags, version_for
from gongshu.errors import InvalidInput
from gongshu.ledger import record
from gongshu.storage.models import DatasetVersion
from gongshu.timeutil import as_utc, utcnow

BATCH_ROWS = 65536
# A delivery of this many rows or more goes to the Spark cluster when it is the engine.
CLUSTER_ROWS = 1_000_000


# ---------------------------------------------------------------- grants


def create_grant(
    session: Session,
    entry: CatalogEntry,
    *,
    recipient_user: User | None = None,
    recipient_org_id: int | None = None,
    purpose: str,
    source: str,
    actor: User,
    days: int = 365,
    policy: str | None = None,
    columns: list[str] | None = None,
    row_filter: list[dict] | None = None,
    source_ref: str | None = None,
    dataset_version_id: int | None = None,
) -> Grant:
    """Record what a recipient may read. Callers are the workflows that decide it
    (sharing approval, open-data agreement, operation licence)."""
    gates.check_grant(  # every registered gate (PIP-8 assessment, XBR-5, ...): fail closed
        gates.GrantRequest(
            session,
            entry,
            recipient_user=recipient_user,
            recipient_org_id=recipient_org_id,
            columns=columns,
            dataset_version_id=dataset_version_id,
            purpose=purpose,
            source=source,
        )
    )
    if entry.published_version is None:
        raise NotGrantable("目录尚未发布，不能授权")
    if source == "sharing" and entry.sharing_attr == "none":
        raise NotGrantable(f"该目录不予共享，依据：{entry.no_share_basis or '未注明'}")
    if not purpose or not purpose.strip():
        raise InvalidInput("必须说明数据用途和应用场景")
    known = [f["name"] for f in entry.fields]
    unknown = [c for c in columns or [] if c not in known]
    if unknown:
        raise InvalidInput(f"授权的字段不在目录中：{'、'.join(unknown)}")
    query.compile_filter(row_filter or [], set(known), allow_rows=True)
    if query.uses_rows(row_filter) and dataset_version_id is None:
        raise InvalidInput("按行号授权必须指定数据版本")
    if policy is None:
        policy = default_policy(source, entry.sharing_attr, entry.security_grade)
    grant = Grant(
        entry_id=entry.id,
        dataset_version_id=dataset_version_id,
        recipient_user_id=recipient_user.id if recipient_user else None,
        recipient_org_id=recipient_org_id,
        columns=columns,
        row_filter=row_filter or [],
        purpose=purpose.strip(),
        source=source,
        source_ref=source_ref,
        policy_id=get_policy(session, policy).id,
        expires_at=utcnow() + timedelta(days=days),
        created_by=actor.actor,
    )
    if grant.recipient_user_id is None and grant.recipient_org_id is None:
        raise InvalidInput("授权必须指定接收方")
    session.add(grant)
    session.flush()
    record(
        session,
        "grant.created",
        actor=actor.actor,
        subject=f"grant:{grant.id}",
        payload={
            "entry": entry.id,
            "recipient": _recipient(grant),
            "purpose": grant.purpose,
            "source": source,
            "policy": policy,
            "columns": columns,
            "row_filter": row_filter or [],
            "expires_at": grant.expires_at,
        },
    )
    return grant


def revoke_grant(session: Session, grant_id: int, *, actor: User, reason: str) -> Grant:
    grant = get_grant(session, grant_id)
    entry = catalog.get(session, grant.entry_id)
    if "admin" not in actor.roles and actor.org_id != entry.provider_org_id:
        raise NotRecipient("只有数据提供单位或管理员可以撤销授权")
    if not reason.strip():
        raise InvalidInput("撤销授权须说明理由")
    grant.revoked_at, grant.revoke_reason = utcnow(), reason.strip()
    session.flush()
    record(
        session,
        "grant.revoked",
        actor=actor.actor,
        subject=f"grant:{grant.id}",
        payload={"reason": grant.revoke_reason},
    )
    return grant


def get_grant(session: Session, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise GrantNotFound(f"授权不存在：{grant_id}")
    return grant


def grants_for(session: Session, user: User) -> list[Grant]:
    cond = Grant.recipient_user_id == user.id
    if user.org_id is not None:
        cond = cond | (Grant.recipient_org_id == user.org_id)
    return list(session.scalars(select(Grant).where(cond).order_by(Grant.created_at.desc())))


def _recipient(grant: Grant) -> str:
    if grant.recipient_user_id is not None:
        return f"user:{grant.recipient_user_id}"
    return f"org:{grant.recipient_org_id}"


def check_grant(grant: Grant, actor: User, *, now: datetime | None = None) -> None:
    """Recipient, revocation and expiry: an expired or revoked grant stops at once."""
    now = now or utcnow()
    mine = grant.recipient_user_id == actor.id or (
        grant.recipient_org_id is not None and grant.recipient_org_id == actor.org_id
    )
    if not mine:
        raise NotRecipient("该授权不属于当前用户或单位")
    if grant.revoked_at is not None:
        raise GrantInactive(f"授权已被撤销：{grant.revoke_reason or ''}")
    if as_utc(grant.expires_at) <= now:
        raise GrantInactive("授权已过期")


# ---------------------------------------------------------------- the door


@dataclass(frozen=True)
class Withheld:
    gate: str
    reason: str
    rows: int


@dataclass
class DeliveryFile:
    delivery: Delivery
    # The delivered bytes, encrypted in the process's scratch directory under a key
    # only this process holds (a crash leaves nothing readable; issue 20 item 3).
    # None for a delivery made in memory (``content``).
    file: storage.EphemeralFile | None
    media_type: str
    filename: str
    total: int | None = None  # rows matching before the page, when asked (``count``)
    content: bytes | None = None
    # What each gate kept back (its reason and how many rows; never which): the
    # recipient is told beside the data, as the ledger entry records it.
    withheld: tuple[Withheld, ...] = ()

    @property
    def withheld_rows(self) -> int:
        return sum(w.rows for w in self.withheld)

    def chunks(self) -> Iterator[bytes]:
        """The delivered bytes in order (what a download streams)."""
        if self.content is not None:
            yield self.content
        elif self.file is not None:
            yield from self.file.iter_chunks()

    def read_bytes(self) -> bytes:
        return b"".join(self.chunks())

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def open(self) -> BinaryIO:
        """A seekable reader of the delivered bytes (for Parquet readers)."""
        if self.file is None:
            return io.BytesIO(self.content or b"")
        return self.file.open()

    @property
    def size(self) -> int:
        return len(self.content) if self.content is not None else self.file.size  # type: ignore[union-attr]

    def discard(self) -> None:
        """Remove the encrypted file (after it was sent); idempotent."""
        if self.file is not None:
            self.file.discard()


def deliver(
    session: Session,
    grant_id: int,
    *,
    actor: User,
    fmt: str,
    datasets_dir: Path,
    work_dir: Path,
    secret: str,
    offset: int = 0,
    limit: int | None = None,
    filters: list[dict] | None = None,
    search: str | None = None,
    order_by: list[tuple[str, bool]] | None = None,
    row_ids: bool = False,
    count: bool = False,
    in_memory: bool = False,
    latest: DatasetVersion | None = None,
    on_cluster: bool | None = None,
) -> DeliveryFile:
    """Check, read, mask, watermark, write, hash and record one delivery.

    ``filters`` (``[{"column", "op", "value"}]``, as a grant's row filter),
    ``search`` (words that must each occur in some column) and ``order_by``
    (``[(column, descending)]``) apply to the whole granted view before
    ``offset``/``limit``, ANDed with the grant's row filter, and may only use
    columns the policy leaves unmasked. ``row_ids`` prepends ``_id``, the
    row's position in the stored version from 1. ``count`` fills
    ``DeliveryFile.total``: the rows matching, before the page (cached per
    version and predicate). ``in_memory`` returns the bytes in
    ``DeliveryFile.content`` instead of a file (API pages: they never lie on disk).
    ``latest`` is the entry's newest version when the caller has just read it (one
    query less); a grant pinned to a version reads that one all the same.
    ``on_cluster`` runs the per-batch work (withholding, masking, marks) on the Spark
    executors (``egress.cluster``): by default for a large delivery when
    ``GONGSHU_ENGINE=spark``. The bytes are the same either way.
    """
    if fmt not in formats.WRITERS:
        raise InvalidInput(f"不支持的格式：{fmt}，可选 csv、json、parquet")
    grant = get_grant(session, grant_id)
    check_grant(grant, actor)
    return _through_door(
        session,
        grant,
        actor=actor,
        actor_name=actor.actor,
        recipient=_recipient(grant),
        fmt=fmt,
        datasets_dir=datasets_dir,
        work_dir=work_dir,
        secret=secret,
        offset=offset,
        limit=limit,
        filters=filters,
        search=search,
        order_by=order_by,
        row_ids=row_ids,
        count=count,
        in_memory=in_memory,
        latest=latest,
        on_cluster=on_cluster,
    )


def _through_door(
    session: Session,
    grant: Grant,
    *,
    actor: User | None,
    actor_name: str,
    recipient: str,
    fmt: str,
    datasets_dir: Path,
    work_dir: Path,
    secret: str,
    offset: int = 0,
    limit: int | None = None,
    filters: list[dict] | None = None,
    search: str | None = None,
    order_by: list[tuple[str, bool]] | None = None,
    row_ids: bool = False,
    count: bool = False,
    in_memory: bool = False,
    latest: DatasetVersion | None = None,
    mark: bool = True,
    on_cluster: bool | None = None,
) -> DeliveryFile:
    """``deliver`` once the grant is known to be the caller's (or is the public's
    preview grant, never stored: ``preview_open``). ``mark`` False leaves out the
    recipient's watermark (the public is no one a leak could be traced to)."""
    entry = catalog.get(session, grant.entry_id)
    version = version_for(session, grant, latest)
    door_request = gates.DeliveryRequest(session, grant, entry, version, actor, secret)
    gates.check_delivery(door_request)
    withheld = gates.withholdings(door_request)  # rows a gate keeps back (cross-border consent)
    withheld_rows, withheld_lock = [0] * len(withheld), threading.Lock()
    policy = session.get(MaskingPolicy, grant.policy_id)
    available = [c["name"] for c in version.columns]
    columns = [c for c in (grant.columns or available) if c in available]
    actions = plan(columns, column_tags(entry, version), policy.rules)
    row_ids = row_ids and query.ROW_ID not in columns
    local = storage.objects.at(datasets_dir).local(version.path)  # S3: the read cache's copy
    q = query.Query(str(local), columns, row_ids=row_ids)
    q.and_where(*query.compile_filter(grant.row_filter, set(available), allow_rows=True))
    # the caller narrows only by what it may see in the clear
    clear = [a.column for a in actions if a.rule["op"] == "keep"]
    label = "筛选条件（已脱敏字段不可筛选）"
    q.and_where(*query.compile_filter(filters or [], set(clear), label=label))
    q.and_where(*query.compile_search(search or "", clear))
    for col, _ in order_by or []:
        if col not in clear and not (row_ids and col == query.ROW_ID):
            raise BadRowFilter(f"排序字段不存在或已脱敏：{col}")
    q.order = [(c, bool(d)) for c, d in order_by or []]

    token = secrets.token_hex(8)
    pseudonym_key, watermark_key = door_keys(secret)
    # Values that must stay exact (identifiers checked at load, integer counts) carry no mark.
    exact = unmarked_columns(entry.fields)
    watermark = (
        None
        if not mark
        else watermarker(
            watermark_key,
            recipient,
            token,
            entry.id,
            protected=[*exact, query.ROW_ID],
            masked=[a.column for a in actions if a.rule["op"] != "keep"],
            # open data leaves in rows' order within blocks of 8 as its recipient's keys say;
            # a sort asked for is kept exactly, and sharing keeps the stored order
            reorder=grant.source == "open" and not order_by,
        )
    )
    spool: storage.EphemeralFile | None = None
    if in_memory:
        sink: BinaryIO = io.BytesIO()
    else:  # encrypted as it is written: the export never lies on disk in the clear
        spool = storage.EphemeralFile(work_dir, f"delivery-{token}.{formats.EXTENSIONS[fmt]}")
        sink = spool.writer()
    rows = 0
    con = query.connection()
    try:
        # The version through the storage door: sealed columns decrypted on this cursor.
        numbered = row_ids or query.uses_rows(grant.row_filter)
        q.sealed = frozenset((version.sealed or {}).get("columns") or [])
        page = query.small_page(q, offset, limit) if fmt == "json" else None
        # a stream of only the columns the query names, sealed ones decrypted a frame at
        # a time as DuckDB reads (memory bounded, issue 19); a stream is read once, so a
        # count that must scan gets a stream of its own
        needed = query.columns_used(q, available)
        if page is None:  # else read from the plain file's cached row groups: no source
            q.source = storage.streamed(con, datasets_dir, version, needed, row_numbers=numbered)
        sql, args = q.select(offset, limit)
        total = (
            q.count(
                con,
                version.id,
                version.rows,
                source=lambda: storage.streamed(
                    con, datasets_dir, version, needed, row_numbers=numbered
                ),
            )
            if count
            else None
        )
        if page is not None:  # a small API page: no query to plan, row groups cached
            reader = pa.RecordBatchReader.from_batches(page.schema, page.to_batches(BATCH_ROWS))
        else:
            reader = con.sql(sql, params=args).to_arrow_reader(BATCH_ROWS)

        protection = Protection(
            withheld=withheld,
            actions=actions,
            pseudonym_key=pseudonym_key,
            purpose=recipient.replace(":", "-"),
            row_ids=row_ids,
            row_id=query.ROW_ID,
            watermark=watermark,
        )

        def protect(batch: pa.RecordBatch) -> pa.RecordBatch:
            out, held = protection(batch)
            with withheld_lock:  # batches are protected on worker threads
                for k, n in enumerate(held):
                    withheld_rows[k] += n
            return out

        if on_cluster is None:
            on_cluster = page is None and not in_memory and _large(version, limit)
        with formats.WRITERS[fmt](sink, reader.schema) as writer:
            if on_cluster:  # the per-batch work on the Spark executors, written here in order
                from gongshu.egress import cluster as spark_door

                batches = spark_door.protected(reader, protection, withheld_rows)
            elif page is not None:  # a small page is one batch: no worker threads
                batches = map(protect, reader)
            else:
                batches = pipelined(protect, reader)
            for masked in batches:
                writer.write(masked)
                rows += masked.num_rows
    except BaseException:
        if spool is not None:
            spool.discard()
        raise
    finally:
        con.close()
    if spool is None:
        content: bytes | None = sink.getvalue()  # type: ignore[attr-defined]
        sha256 = hashlib.sha256(content).hexdigest()
    else:
        content, sha256 = None, spool.close().sha256
    begin_write(session)  # the reading is done: only the record is left (read-first units)
    delivery = Delivery(
        created_at=utcnow(),
        token=token,
        grant_id=grant.id,
        entry_id=entry.id,
        dataset_version_id=version.id,
        recipient=recipient,
        actor=actor_name,
        purpose=grant.purpose,
        format=fmt,
        rows=rows,
        offset=offset,
        columns=columns,
        policy_name=policy.name,
        policy_version=policy.version_no,
        watermarked=watermark is not None,
        sha256=sha256,
    )
    # One prebuilt INSERT, as the ledger entry: no unit-of-work flush on the API path.
    session.execute(_DELIVERED, {c.key: getattr(delivery, c.key) for c in _DELIVERY_COLUMNS})
    record(
        session,
        "egress.delivered",
        actor=actor_name,
        subject=f"entry:{entry.id}",
        payload={
            "grant": grant.id,
            "delivery": token,
            "recipient": recipient,
            "purpose": grant.purpose,
            "entry": entry.id,
            "version": version.version_no,
            "rows": rows,
            "sha256": delivery.sha256,
            "format": fmt,
            "policy": f"{policy.name}@{policy.version_no}",
            "masked": {a.column: a.rule["op"] for a in actions if a.rule["op"] != "keep"},
            **({"filters": filters} if filters else {}),
            **({"search": search} if search else {}),
            **(
                {
                    "withheld": [
                        {"gate": w.gate, "reason": w.reason, "rows": n}
                        for w, n in zip(withheld, withheld_rows, strict=True)
                    ]
                }
                if withheld
                else {}
            ),
        },
    )
    name = f"{entry.resource_code}-v{version.version_no}.{formats.EXTENSIONS[fmt]}"
    held = tuple(
        Withheld(w.gate, w.reason, n) for w, n in zip(withheld, withheld_rows, strict=True) if n
    )
    if content is not None:
        return DeliveryFile(
            delivery, None, formats.MEDIA_TYPES[fmt], name, total, content, withheld=held
        )
    return DeliveryFile(delivery, spool, formats.MEDIA_TYPES[fmt], name, total, withheld=held)


def _large(version: DatasetVersion, limit: int | None) -> bool:
    """A delivery worth the cluster: ``GONGSHU_ENGINE=spark`` and at least
    ``CLUSTER_ROWS`` rows to protect."""
    from gongshu.spark.context import engine

    stored = version.rows or 0
    rows = stored if limit is None else min(limit, stored)
    return engine() == "spark" and rows >= CLUSTER_ROWS


_DELIVERED = insert(Delivery.__table__)
_DELIVERY_COLUMNS = [c for c in Delivery.__table__.columns if c.key != "id"]


# ---------------------------------------------------------------- the public preview

PUBLIC = "public"  # the recipient of what the portal shows anyone
PORTAL = "system:portal"  # who delivers it
PREVIEW_PURPOSE = "开放数据目录页面的数据预览"


def open_policy(session: Session, entry: CatalogEntry) -> MaskingPolicy:
    """The masking policy entries are opened under (every open grant names it)."""
    name = default_policy("open", entry.sharing_attr, entry.security_grade)
    policy = session.scalar(select(MaskingPolicy).where(MaskingPolicy.name == name))
    if policy is None:  # a fresh database: the shipped policies are written once
        begin_write(session)
        policy = get_policy(session, name)
    return policy


def release_plan(session: Session, entry: CatalogEntry, version: DatasetVersion) -> dict[str, str]:
    """Each column of ``version`` and the operator the open policy masks it with
    ("keep": in the clear), as every open delivery plans it. Reads no data."""
    policy = open_policy(session, entry)
    names = [c["name"] for c in version.columns]
    return {a.column: a.rule["op"] for a in plan(names, column_tags(entry, version), policy.rules)}


def preview_open(
    session: Session,
    entry: CatalogEntry,
    *,
    rows: int,
    datasets_dir: Path,
    work_dir: Path,
    secret: str,
    latest: DatasetVersion | None = None,
) -> DeliveryFile:
    """The first ``rows`` rows of an unconditionally open entry, delivered to the public
    as JSON in memory: every column, masked by the open policy as any open grant's
    delivery, checked by every gate, recorded as a delivery (grant none, recipient
    ``public``) and an ``egress.delivered`` ledger entry in the caller's transaction.

    The grant is the one an open declaration would create, built for this delivery
    and never stored: nobody holds it. No watermark: a mark names its recipient, and
    the public is no one; the rows are those the open policy lets anyone take."""
    if entry.opening_attr != "unconditional" or entry.published_version is None:
        raise NotGrantable("只有已发布的无条件开放目录提供数据预览")
    grant = Grant(
        entry_id=entry.id,
        dataset_version_id=None,
        recipient_user_id=None,
        recipient_org_id=None,
        columns=None,
        row_filter=[],
        purpose=PREVIEW_PURPOSE,
        source="open",
        source_ref=None,
        policy_id=open_policy(session, entry).id,
        expires_at=utcnow() + timedelta(minutes=1),
        created_by=PORTAL,
    )
    return _through_door(
        session,
        grant,
        actor=None,
        actor_name=PORTAL,
        recipient=PUBLIC,
        fmt="json",
        datasets_dir=datasets_dir,
        work_dir=work_dir,
        secret=secret,
        limit=rows,
        in_memory=True,
        latest=latest,
        mark=False,
    )


def take_unconditional(session: Session, entry_id: int, *, actor: User, scenario: str) -> Grant:
    """SHR-2: an agency obtains unconditional-share data directly, stating its scenario."""
    entry = catalog.get(session, entry_id)
    if actor.org is None or actor.org.kind != "agency":
        raise NotGrantable("共享数据仅向公共管理和服务机构提供")
    if entry.sharing_attr != "unconditional":
        raise NotGrantable("该目录不是无条件共享，需要提交共享申请")
    if actor.org_id == entry.provider_org_id:
        raise NotGrantable("不能申请本单位提供的数据")
    return create_grant(
        session,
        entry,
        recipient_org_id=actor.org_id,
        purpose=scenario,
        source="sharing",
        actor=actor,
    )


def reference_rows(
    session: Session, like: Delivery, *, datasets_dir: Path, secret: str, row_ids: bool
) -> pa.Table | None:
    """The rows of ``like``'s entry version as the door delivered them in ``like`` (its
    columns, masked by its policy version; ``_id`` first with ``row_ids``), unmarked.
    For ``gongshu trace`` only: they never leave the process, so no delivery is recorded.

    Tracing uses them to give a leak back the columns a leaker dropped and repair
    exact values he altered (``watermark_trace.restore``); only canonical values are
    read, so the marks of any delivery would do as well. Pseudonyms are keyed per
    recipient: they come out under another purpose and simply never match. None
    when the version or the policy version is gone."""
    version = session.get(DatasetVersion, like.dataset_version_id)
    entry = session.get(CatalogEntry, like.entry_id)
    rules = session.scalar(
        select(MaskingPolicyVersion.rules)
        .join(MaskingPolicy, MaskingPolicy.id == MaskingPolicyVersion.policy_id)
        .where(MaskingPolicy.name == like.policy_name)
        .where(MaskingPolicyVersion.version_no == like.policy_version)
    )
    if version is None or entry is None or rules is None:
        return None
    stored = [c["name"] for c in version.columns]
    columns = [c for c in like.columns if c in stored]
    if not columns:
        return None
    actions = plan(columns, column_tags(entry, version), rules)
    local = storage.objects.at(datasets_dir).local(version.path)
    q = query.Query(str(local), columns, row_ids=row_ids)
    pseudonyms = door_keys(secret).pseudonyms
    distinct = masking.Distinct()
    batches = []
    con = query.connection()
    try:
        # one scan: a stream of the delivery's columns, a sealed frame at a time
        q.source = storage.streamed(
            con, datasets_dir, version, query.columns_used(q, stored), row_numbers=row_ids
        )
        q.sealed = frozenset((version.sealed or {}).get("columns") or [])
        sql, args = q.select(0, None)
        for batch in con.sql(sql, params=args).to_arrow_reader(BATCH_ROWS):
            masked = masking.decoded(masking.mask(batch, actions, pseudonyms, "trace", distinct))
            if row_ids:
                masked = pa.RecordBatch.from_arrays(
                    [batch.column(0), *masked.columns], names=[query.ROW_ID, *masked.schema.names]
                )
            batches.append(masked)
    finally:
        con.close()
    return pa.Table.from_batches(batches) if batches else None
