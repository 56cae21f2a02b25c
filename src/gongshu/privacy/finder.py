"""Find one person's rows across the latest dataset version of every entry (PIP-5).

The search reads the discovery tags (DESIGN.md mechanism 4): columns tagged
CN_RESIDENT_ID (and CN_MOBILE when the person gave a mobile number) are compared
with the person's own values inside the platform. Only counts, column names and
row numbers come out; no value of anyone else's row leaves this module.

Free text and JSON (issue 21 item 5): the columns where discovery found entities
inside the values (``embedded`` in the version's scan) are searched for the
person's ID number as a mention (a letter naming them, a JSON field). Such a row
is someone else's record that mentions the person: a deletion masks the mention
(:func:`mention_masker`) and keeps the row; it is never exported to the person.
Only the verified ID number is searched in text, never the unverified mobile.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.catalog.models import CatalogEntry
from gongshu.egress.errors import NotClassified
from gongshu.egress.policies import KIND_ENTITIES
from gongshu.egress.versions import column_tags
from gongshu.storage.models import DatasetVersion

ID_CODE, MOBILE_CODE = "CN_RESIDENT_ID", "CN_MOBILE"


@dataclass
class Found:
    entry: CatalogEntry
    version: DatasetVersion
    columns: list[str]
    row_numbers: list[int]
    mentions: dict[str, list[int]] = field(default_factory=dict)  # text column -> rows

    @property
    def rows_touched(self) -> int:
        return len(set(self.row_numbers).union(*self.mentions.values()))


def _quote(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def person_predicate(
    tags: dict[str, list[str]], available: set[str], id_number: str, mobile: str | None
) -> tuple[list[str], str, list[str]]:
    """The tagged columns to compare and a parameterized predicate over them.

    Where an entry has a resident-ID column, only the ID decides: the mobile number
    a person gives is not verified, and a row carrying that number beside another
    person's ID is the other person's row. The mobile is used only in entries with
    no ID column, and such matches need the provider's confirmation (``service``).
    """
    cols, clauses, params = [], [], []
    present = {c: codes for c, codes in tags.items() if c in available}
    has_id = any(ID_CODE in codes for codes in present.values())
    for col, codes in sorted(present.items()):
        if ID_CODE in codes:
            cols.append(col)
            clauses.append(f"upper(trim(CAST({_quote(col)} AS VARCHAR))) = ?")
            params.append(id_number)
        elif mobile and not has_id and MOBILE_CODE in codes:
            cols.append(col)
            clauses.append(
                f"right(regexp_replace(CAST({_quote(col)} AS VARCHAR), '[^0-9]', '', 'g'), 11) = ?"
            )
            params.append(mobile)
    return cols, " OR ".join(clauses) or "FALSE", params


def text_columns(version: DatasetVersion) -> list[str]:
    """Free-text and JSON columns: where the version's scan found entities inside values."""
    scanned = (version.discovery or {}).get("columns") or []
    return sorted(c["name"] for c in scanned if c.get("embedded"))


def mention_predicate(col: str) -> str:
    """The ID number (one parameter) mentioned in a text column, not inside a longer code."""
    return (
        f"regexp_matches(upper(CAST({_quote(col)} AS VARCHAR)), "
        "'(^|[^0-9A-Z])' || ? || '([^0-9A-Z]|$)')"
    )


def mention_masker(
    mentions: dict[str, list[int]], id_number: str
) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    """Batch -> batch with every mention of the ID number in those text columns masked
    (``******************``, the same length: JSON stays JSON); the rows stay."""
    pattern = "(?i)" + re.escape(id_number)
    mask = "*" * len(id_number)

    def apply(batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = []
        for i, name in enumerate(batch.schema.names):
            col = batch.column(i)
            if name in mentions and (
                pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
            ):
                col = pc.replace_substring_regex(col, pattern, mask)
            arrays.append(col)
        return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)

    return apply


def latest_versions(session: Session) -> list[tuple[CatalogEntry, DatasetVersion]]:
    newest = storage.newest_numbers().subquery()
    rows = session.execute(
        select(CatalogEntry, DatasetVersion)
        .join(DatasetVersion, DatasetVersion.entry_id == CatalogEntry.id)
        .join(
            newest,
            (newest.c.entry_id == DatasetVersion.entry_id)
            & (newest.c.version_no == DatasetVersion.version_no),
        )
        .order_by(CatalogEntry.id)
    )
    return [(e, v) for e, v in rows]


def row_numbers(
    datasets_dir: Path,
    version: DatasetVersion,
    predicate: str,
    params: list[str],
    con: duckdb.DuckDBPyConnection,
) -> list[int]:
    # Through the storage door: the ID columns are sealed at rest (SEC-9), decrypted a
    # frame at a time as this one scan reads them (issue 19 item 3).
    source = storage.streamed(con, datasets_dir, version, row_numbers=True)
    rel = con.execute(
        f"SELECT file_row_number FROM {source} WHERE {predicate} ORDER BY file_row_number",
        params,
    )
    return [r[0] for r in rel.fetchall()]


def find_in(
    entry: CatalogEntry,
    version: DatasetVersion,
    *,
    id_number: str,
    mobile: str | None,
    datasets_dir: Path,
    con: duckdb.DuckDBPyConnection,
    unclassified: bool = False,
) -> Found | None:
    """The person's rows (and mentions) in one version, or None. A version not
    classified yet cannot leave, so it is not searched, unless ``unclassified``
    (an erasure): then the catalog's declared ID columns are searched."""
    try:
        tags = column_tags(entry, version)
    except NotClassified:
        if not unclassified:
            return None
        tags = {
            f["name"]: [KIND_ENTITIES[f["kind"]]]
            for f in entry.fields
            if f.get("kind") in KIND_ENTITIES
        }
    available = {c["name"] for c in version.columns}
    cols, predicate, params = person_predicate(tags, available, id_number, mobile)
    rows = row_numbers(datasets_dir, version, predicate, params, con) if cols else []
    mentions = {}
    for col in text_columns(version):
        if col in available:
            hits = row_numbers(datasets_dir, version, mention_predicate(col), [id_number], con)
            if hits:
                mentions[col] = hits
    if not rows and not mentions:
        return None
    texts = [c for c in mentions if c not in cols]
    return Found(entry, version, cols + texts, rows, mentions)


def find(
    session: Session,
    *,
    id_number: str,
    mobile: str | None,
    datasets_dir: Path,
    entry_id: int | None = None,
    older: bool = False,
) -> list[Found]:
    """Every entry (or just ``entry_id``) whose latest version holds rows of this person.

    ``older`` (a deletion, PIP-6): an entry whose latest version no longer holds the
    person but an older stored version does is found too, by its newest such version.
    """
    out: list[Found] = []
    con = duckdb.connect()
    try:
        for entry, version in latest_versions(session):
            if entry_id is not None and entry.id != entry_id:
                continue
            candidates = [version]
            if older:
                candidates += [
                    v for v in storage.versions_of(session, entry.id) if v.id != version.id
                ]
            for candidate in candidates:
                found = find_in(
                    entry,
                    candidate,
                    id_number=id_number,
                    mobile=mobile,
                    datasets_dir=datasets_dir,
                    con=con,
                )
                if found is not None:
                    out.append(found)
                    break
    finally:
        con.close()
    return out


def find_in_versions(
    entry: CatalogEntry,
    versions: list[DatasetVersion],
    *,
    id_number: str,
    mobile: str | None,
    datasets_dir: Path,
) -> dict[int, Found]:
    """The person's rows in each of ``versions`` (old ones too: an erasure, PIP-6),
    by version id; versions without them are left out."""
    out: dict[int, Found] = {}
    con = duckdb.connect()
    try:
        for version in versions:
            found = find_in(
                entry,
                version,
                id_number=id_number,
                mobile=mobile,
                datasets_dir=datasets_dir,
                con=con,
                unclassified=True,
            )
            if found is not None:
                out[version.id] = found
    finally:
        con.close()
    return out
