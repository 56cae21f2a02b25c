"""One data item, one legal collecting agency (AGG-2, CAT-9).

Finds published entries of different agencies that hold the same data items
about the same people or organizations. Two tests, both needed:

1. the same field meanings: the share of data items (field name and type,
   with discovery tags that do not disagree; identifiers aside) the smaller
   entry has in common with the other is at least ``ITEM_SHARE``;
2. overlapping subjects: the resident ID numbers / credit codes of the two
   current versions overlap by at least ``SUBJECT_OVERLAP`` of the smaller.
   Values are compared as keyed SHA-256 hashes under a key drawn for this run
   and never stored, so no raw identifier crosses from one agency's data to
   another's, and only counts leave this module.

The data authority then names the one legal collecting agency; the decision
goes to the ledger and the pair is no longer listed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts import jurisdiction
from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.errors import InvalidInput
from gongshu.exchange.supervision import area_prefix
from gongshu.ledger import record
from gongshu.quality import engine
from gongshu.quality.errors import NotAuthority
from gongshu.quality.models import OneSourceDecision
from gongshu.storage import scratch
from gongshu.storage.models import DatasetVersion

ITEM_SHARE = 0.8
SUBJECT_OVERLAP = 0.5
KEY_KINDS = {"resident_id": "person", "uscc": "organization"}
KEY_TAGS = {"CN_RESIDENT_ID": "person", "CN_USCC": "organization"}


@dataclass
class Holding:
    entry: CatalogEntry
    version: DatasetVersion
    key: str
    subject: str  # person | organization
    items: dict[str, tuple] = field(default_factory=dict)  # field name -> (type, tags)


@dataclass
class Duplicate:
    a: CatalogEntry
    b: CatalogEntry
    subject: str
    shared_items: list[str]
    item_share: float
    subjects_a: int
    subjects_b: int
    subjects_shared: int

    @property
    def overlap(self) -> float:
        smaller = min(self.subjects_a, self.subjects_b)
        return self.subjects_shared / smaller if smaller else 0.0

    def evidence(self) -> dict:
        return {
            "subject": self.subject,
            "shared_items": self.shared_items,
            "item_share": round(self.item_share, 3),
            "subjects": [self.subjects_a, self.subjects_b],
            "subjects_shared": self.subjects_shared,
            "overlap": round(self.overlap, 3),
        }


def _holding(entry: CatalogEntry, version: DatasetVersion) -> Holding | None:
    tags = version.column_tags or {}
    key = subject = None
    for f in entry.fields:
        s = KEY_KINDS.get(f.get("kind") or "") or next(
            (KEY_TAGS[t] for t in tags.get(f["name"], []) if t in KEY_TAGS), None
        )
        if s is not None:
            key, subject = f["name"], s
            break
    if key is None:
        return None
    items = {
        f["name"]: (f.get("type") or "string", tuple(sorted(tags.get(f["name"], []))))
        for f in entry.fields
        if f["name"] != key and f.get("kind") not in KEY_KINDS
    }
    return Holding(entry, version, key, subject, items)


def _holdings(session: Session, prefix: str) -> list[Holding]:
    out = []
    for entry in session.scalars(
        select(CatalogEntry)
        .where(CatalogEntry.published_version.is_not(None))
        .order_by(CatalogEntry.id)
    ):
        if not entry.region_code.startswith(prefix):
            continue
        version = storage.newest(session, entry.id)
        if version is not None and (h := _holding(entry, version)) is not None:
            out.append(h)
    return out


def _same_item(a: tuple | None, b: tuple | None) -> bool:
    """Same field name (the caller's key) and type, and tags that do not disagree: the
    full discovery scan may have widened one version's tags before the other's, so a
    tag set that is empty on one side is not a difference; disjoint tag sets are."""
    if a is None or b is None or a[0] != b[0]:
        return False
    return not (a[1] and b[1] and not set(a[1]) & set(b[1]))


def _decided(session: Session) -> set[frozenset]:
    return {frozenset(d.entry_ids) for d in session.scalars(select(OneSourceDecision))}


def find_duplicates(session: Session, actor: User, *, datasets_dir: Path) -> list[Duplicate]:
    """Likely duplicate collections in the authority's area, with evidence (AGG-2)."""
    _require_authority(actor)
    prefix = "" if "admin" in actor.roles else area_prefix(actor.org)
    holdings, decided = _holdings(session, prefix), _decided(session)
    salt = secrets.token_hex(32)
    # capped, spilling to the process's scratch area: only keyed digests are grouped
    con = engine.connect(spill=scratch.new_path(Path(datasets_dir), "duckdb-spill"))
    found = []
    try:
        for a, b in combinations(holdings, 2):
            if a.entry.provider_org_id == b.entry.provider_org_id or a.subject != b.subject:
                continue
            if frozenset((a.entry.id, b.entry.id)) in decided:
                continue
            shared = sorted(n for n, v in a.items.items() if _same_item(v, b.items.get(n)))
            smaller = min(len(a.items), len(b.items))
            share = len(shared) / smaller if smaller else 0.0
            if share < ITEM_SHARE:
                continue
            na, nb, both = _overlap(con, salt, datasets_dir, a, b)
            dup = Duplicate(a.entry, b.entry, a.subject, shared, share, na, nb, both)
            if dup.overlap >= SUBJECT_OVERLAP:
                found.append(dup)
    finally:
        con.close()
    return found


def _overlap(
    con: duckdb.DuckDBPyConnection, salt: str, datasets_dir: Path, a: Holding, b: Holding
) -> tuple[int, int, int]:
    # Each side's distinct keys as keyed 128-bit digests, one scan of only the key column
    # (sealed IDs decrypted a frame at a time, issue 19 item 3); what DuckDB groups, and
    # may spill, is the digest, never the ID. Two IDs colliding among 10^8 has odds of
    # about 10^-23.
    def hashed(h: Holding, name: str) -> None:
        source = storage.streamed(con, datasets_dir, h.version, [h.key])
        col = '"' + h.key.replace('"', '""') + '"'
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT DISTINCT "
            f"md5_number(? || upper(trim(CAST({col} AS VARCHAR)))) AS k "
            f"FROM {source} WHERE {col} IS NOT NULL",
            [salt],
        )

    hashed(a, "gs_ka")
    hashed(b, "gs_kb")
    try:
        na, nb, both = con.execute(
            "SELECT (SELECT count(*) FROM gs_ka), (SELECT count(*) FROM gs_kb), "
            "(SELECT count(*) FROM gs_ka JOIN gs_kb USING (k))"
        ).fetchall()[0]
    finally:
        con.execute("DROP TABLE IF EXISTS gs_ka; DROP TABLE IF EXISTS gs_kb")
    return int(na), int(nb), int(both)


def _require_authority(actor: User) -> None:
    if actor.org is None or (actor.org.kind != "data_authority" and "admin" not in actor.roles):
        raise NotAuthority("只有数据管理部门可以认定唯一采集单位")


def designate(
    session: Session,
    entry_ids: list[int],
    legal_entry_id: int,
    *,
    actor: User,
    reason: str,
    evidence: dict | None = None,
) -> OneSourceDecision:
    """Name the one legal collecting agency for the data items these entries hold (CAT-9)."""
    _require_authority(actor)
    ids = sorted({int(i) for i in entry_ids})
    if len(ids) < 2 or legal_entry_id not in ids:
        raise InvalidInput("请选择重复的目录，并指定其中之一为唯一采集来源")
    if not (reason or "").strip():
        raise InvalidInput("请填写认定理由")
    entries = [catalog.get(session, i) for i in ids]
    for entry in entries:
        jurisdiction.require(
            session,
            actor,
            entry.region_code,
            reach=jurisdiction.AREA,
            action="认定",
            what=f"数据目录「{entry.name}」的唯一采集单位或责任单位",
            law="AGG-2, CAT-9",
        )
    legal = next(e for e in entries if e.id == legal_entry_id)
    decision = OneSourceDecision(
        entry_ids=ids,
        legal_entry_id=legal.id,
        legal_org_id=legal.provider_org_id,
        reason=reason.strip(),
        evidence=evidence or {},
        actor=actor.actor,
    )
    session.add(decision)
    session.flush()
    record(
        session,
        "quality.one_source_designated",
        actor=actor.actor,
        subject=f"entry:{legal.id}",
        payload={
            "entries": ids,
            "legal_org": legal.provider.name,
            "reason": decision.reason,
            "evidence": decision.evidence,
        },
    )
    return decision


def decisions(session: Session) -> list[OneSourceDecision]:
    return list(session.scalars(select(OneSourceDecision).order_by(OneSourceDecision.id.desc())))
