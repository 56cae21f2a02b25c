"""Marking a version anonymized, only after the platform's re-identification check (PIP-9).

PIP-9: anonymized means the data cannot identify a specific person and cannot
be restored. Anonymized data may be aggregated (AGG-5), opened or traded
(TRD-8), so the mark is a gate. The criteria, all of which must hold:

1. No column carries a direct identifier (DIRECT_IDENTIFIERS below), by the
   version's confirmed entity tags: an identifier masked but still unique per
   person (a pseudonym) is still an identifier and fails this rule.
2. Every column tagged as a quasi-identifier (QUASI_IDENTIFIERS) is among the
   declared quasi-identifiers, so the measurement cannot leave one out.
3. k-anonymity over the declared quasi-identifiers is at least ``k``
   (minimum MIN_K = 5, the smallest class a person can hide in).
4. Each sensitive attribute (MEDICAL, RELIGION columns) has distinct
   l-diversity of at least ``l`` (minimum MIN_L = 2), so membership in a class
   does not reveal the sensitive value.

The check reads the whole stored version here, inside the platform; nothing
leaves. Its figures go on the version and into the ledger.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.datasets.errors import NotDataProvider
from gongshu.errors import Conflict, InvalidInput
from gongshu.ledger import record
from gongshu.protect.anonymity import attributes
from gongshu.spark.anonymity import value_text
from gongshu.storage import scratch
from gongshu.storage.models import DatasetVersion
from gongshu.timeutil import utcnow

MIN_K, MIN_L = 5, 2
DIRECT_IDENTIFIERS = frozenset(
    {
        "PERSON_NAME",
        "CN_RESIDENT_ID",
        "PASSPORT",
        "HK_MACAO_PERMIT",
        "CN_MOBILE",
        "CN_LANDLINE",
        "EMAIL",
        "BANK_CARD",
        "ACCOUNT_ID",
        "IP_ADDRESS",
        "MAC_ADDRESS",
        "IMEI",
        "LICENSE_PLATE",
        "VEHICLE_VIN",
        "BIOMETRIC",
        "GEO_COORDINATE",
    }
)
QUASI_IDENTIFIERS = frozenset({"BIRTH_DATE", "GENDER", "ADDRESS", "ETHNICITY", "EDUCATION"})
SENSITIVE_ATTRIBUTES = frozenset({"MEDICAL", "RELIGION"})


class NotAnonymous(Conflict):
    """The version fails the re-identification check; the message says which rule."""

    commit_anyway = True  # a failed check is evidence too: its ledger entry stays


def check_and_mark(
    session: Session,
    version_id: int,
    *,
    quasi_identifiers: list[str],
    actor: User,
    datasets_dir: Path,
    k: int = MIN_K,
    l: int = MIN_L,  # noqa: E741
) -> DatasetVersion:
    """Run the PIP-9 check; mark the version anonymized only if every criterion holds."""
    version = session.get(DatasetVersion, version_id)
    if version is None:
        raise InvalidInput(f"数据版本不存在：{version_id}")
    entry = catalog.get(session, version.entry_id)
    if "admin" not in actor.roles and actor.org_id != entry.provider_org_id:
        raise NotDataProvider("只有数据提供单位可以申请匿名化认定")
    if k < MIN_K or l < MIN_L:
        raise InvalidInput(f"匿名化门槛不得低于 k={MIN_K}、l={MIN_L}")
    tags = version.column_tags or {}
    if not (version.discovery or {}).get("confirmed_by"):
        raise NotAnonymous("识别结果尚未经数据提供单位确认，不能认定匿名化")
    direct = sorted(c for c, codes in tags.items() if DIRECT_IDENTIFIERS & set(codes))
    if direct:
        raise NotAnonymous(f"仍含直接标识符列，不能认定匿名化：{'、'.join(direct)}")
    columns = {c["name"] for c in version.columns}
    unknown = [q for q in quasi_identifiers if q not in columns]
    if unknown or not quasi_identifiers:
        raise InvalidInput(f"准标识符列不存在或为空：{'、'.join(unknown)}")
    missed = sorted(
        c
        for c, codes in tags.items()
        if QUASI_IDENTIFIERS & set(codes) and c not in quasi_identifiers
    )
    if missed:
        raise NotAnonymous(f"以下列是准标识符，必须纳入测算：{'、'.join(missed)}")
    sensitive = sorted(c for c, codes in tags.items() if SENSITIVE_ATTRIBUTES & set(codes))
    report = _measure(datasets_dir, version, quasi_identifiers, sensitive or None)
    figures = {
        "k": report.k,
        "l": report.l,
        "rows": report.rows,
        "equivalence_classes": report.equivalence_classes,
        "quasi_identifiers": list(quasi_identifiers),
        "sensitive": sensitive,
        "required": {"k": k, "l": l},
    }
    passed = report.k >= k and (report.l is None or report.l >= l)
    record(
        session,
        "dataset.anonymity_checked",
        actor=actor.actor,
        subject=f"entry:{entry.id}",
        payload={"dataset_version": version.id, "passed": passed, **figures},
    )
    if not passed:
        raise NotAnonymous(
            f"未达到匿名化门槛：k={report.k}（要求 ≥{k}）"
            + (f"，l={report.l}（要求 ≥{l}）" if report.l is not None else "")
            + "；请先泛化或删除记录后重新加载",
            detail=figures,
        )
    version.anonymized = {**figures, "checked_by": actor.actor, "checked_at": utcnow().isoformat()}
    session.flush()
    return version


@dataclass(frozen=True)
class AnonymityFigures:
    """What the check uses of a measurement: rows, k, distinct l (None without a
    sensitive attribute) and the number of equivalence classes, the same integers as
    ``protect.anonymity.measure``. No t (the check does not use it, so it is not
    computed) and no class sizes (there are as many as classes: they grow with the
    table)."""

    rows: int
    quasi_identifiers: tuple[str, ...]
    sensitive: tuple[str, ...]
    k: int
    l: int | None  # noqa: E741 - the name the literature uses
    equivalence_classes: int


def _measure(
    datasets_dir: Path,
    version: DatasetVersion,
    quasi_identifiers: list[str],
    sensitive: list[str] | None,
) -> AnonymityFigures:
    """k and l in process in bounded memory (``measure_bounded``), or on the Spark
    cluster when ``GONGSHU_ENGINE=spark`` (``spark.anonymity.figures_version``: the
    same figures, the driver's memory bounded too)."""
    from gongshu.spark import engine

    qi, sens = attributes(quasi_identifiers, sensitive)
    if engine() == "spark":
        from gongshu.spark.anonymity import figures_version

        got = figures_version(datasets_dir, version, qi, sens)
        return AnonymityFigures(got.rows, qi, sens, got.k, got.l, got.equivalence_classes)
    return measure_bounded(datasets_dir, version, qi, sens)


# The measurement's own DuckDB (issue 19 item 3): what it may hold before its hash
# aggregation spills to disk, and its threads. Each thread needs its share of the limit.
MEMORY_LIMIT = "128MB"
THREADS = 2
# DuckDB's spilling aggregation still needs memory that grows with the distinct pairs
# (it ran out under 128 MB, 256 MB and one thread at 50M rows): past this many rows the
# classes are split by a hash of their key into passes, each reading the stream again
# and holding only its share of the pairs (10M rows passed at 128 MB).
ROWS_PER_PASS = 10_000_000


def measure_bounded(
    datasets_dir: Path,
    version: DatasetVersion,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str] | None = None,
) -> AnonymityFigures:
    """k, distinct l, classes and rows of the stored ``version``, the same integers
    as ``measure`` of its table, in memory that does not grow with the rows.

    DuckDB reads only the columns measured as a stream (``storage.batch_reader``: a
    sealed frame decrypted at a time) and counts the distinct (quasi-identifiers,
    sensitive value) pairs, one grouping set per sensitive attribute, then the pairs
    per class: a class's size is the sum of its pairs' counts, its distinct l their
    number. Both hash aggregations spill to a directory of this process's scratch
    area past ``MEMORY_LIMIT``; a version of more than ``ROWS_PER_PASS`` rows is
    measured in passes, each over the classes whose key hashes to it. A null stays a
    null, which DuckDB groups as a value of its own, as ``measure`` does; floats
    group -0.0 with 0.0 and NaN with NaN, as numpy's unique does.

    Spilled pairs must not hold a sealed column's values in clear (SEC-9): DuckDB's
    temporary-file encryption needs an encrypted database written with the httpfs
    extension's OpenSSL (this build refuses to write one with its own crypto), which
    the platform does not install. So each value of a sealed column is replaced,
    before anything can be spilled, by a keyed 128-bit hash (``md5_number`` of a
    random per-run salt and the value; the salt lives in this process's memory only),
    which keeps equality and distinctness (a collision among 50 million values has a
    chance near 10^-23, and could only lower l). The directory goes when the
    measurement ends, or with the process's scratch at the next sweep if it dies.
    """
    qi, sens = attributes(quasi_identifiers, sensitive)
    names = list(dict.fromkeys([*qi, *sens]))
    sealed = set((version.sealed or {}).get("columns") or ())
    spill = scratch.new_path(datasets_dir, "anonymity")
    spill.mkdir(mode=0o700)
    try:
        con = duckdb.connect(
            config={
                "memory_limit": MEMORY_LIMIT,
                "threads": THREADS,
                "preserve_insertion_order": False,
                "temp_directory": str(spill),
            }
        )
        try:
            passes = max(1, -(-int(version.rows or 0) // ROWS_PER_PASS))
            salt = secrets.token_hex(16)  # one for every pass: the same class, the same pass
            rows = []
            for part in range(passes):
                reader = storage.batch_reader(datasets_dir, version, names)  # scanned once
                name = f"gs_source_{part}"
                con.register(name, reader)
                kinds = {f.name: f.type for f in reader.schema if f.name in sealed}
                sql, params = _bounded_sql(
                    name, qi, sens, kinds, salt=salt, part=(part, passes) if passes > 1 else None
                )
                rows += con.execute(sql, params).fetchall()
                con.unregister(name)
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    if not rows:  # no rows, no class
        return AnonymityFigures(0, qi, sens, 0, None, 0)
    # a row per pass and sensitive attribute: every pass's classes are its own
    groups = {r[4] for r in rows}
    first = [r for r in rows if r[4] == min(groups)]
    total, classes = sum(int(r[0]) for r in first), sum(int(r[1]) for r in first)
    k = min(int(r[2]) for r in first)
    distinct = [int(r[3]) for r in rows if r[3] is not None]
    return AnonymityFigures(total, qi, sens, k, min(distinct) if sens else None, classes)


def _bounded_sql(
    source: str,
    qi: tuple[str, ...],
    sens: tuple[str, ...],
    sealed: dict[str, pa.DataType],
    *,
    salt: str | None = None,
    part: tuple[int, int] | None = None,
) -> tuple[str, dict[str, str]]:
    """The query of ``measure_bounded`` and its parameters (the salt, drawn here unless
    given, when a column is ``sealed``): one row per sensitive attribute (one row
    without any) of rows, classes, k, distinct l and the grouping set, over the classes
    whose key hashes to ``part`` = (i, n) when given."""
    params = {"salt": salt or secrets.token_hex(16)} if sealed else {}

    def key(name: str) -> str:
        col = _q(name)
        kind = sealed.get(name)
        if kind is None:
            return col
        # -0.0 as 0.0 and every NaN alike, as grouped; the text the cluster hashes too
        return f"md5_number($salt || {value_text(col, kind)})"  # null in, null out

    q = [f"gs_q{i}" for i in range(len(qi))]
    s = [f"gs_s{i}" for i in range(len(sens))]
    keys = ", ".join(
        [f"{key(n)} AS {a}" for n, a in zip(qi, q, strict=True)]
        + [f"{key(n)} AS {a}" for n, a in zip(sens, s, strict=True)]
    )
    by = ", ".join(q)
    where = f"WHERE hash({by}) % {part[1]} = {part[0]}" if part else ""
    if not sens:
        return (
            f"""
            WITH keyed AS (SELECT * FROM (SELECT {keys} FROM {source}) {where}),
            classes AS (SELECT count(*) AS size FROM keyed GROUP BY {by})
            SELECT sum(size), count(*), min(size), NULL, 0 FROM classes HAVING count(*) > 0
        """,
            params,
        )
    sets = ", ".join(f"({by}, {a})" for a in s)
    sql = f"""
        WITH keyed AS (SELECT * FROM (SELECT {keys} FROM {source}) {where}),
        pairs AS (
            SELECT {by}, GROUPING({", ".join(s)}) AS gs_set, count(*) AS n
            FROM keyed GROUP BY GROUPING SETS ({sets})
        ),
        classes AS (SELECT gs_set, sum(n) AS size, count(*) AS d FROM pairs GROUP BY gs_set, {by})
        SELECT sum(size), count(*), min(size), min(d), gs_set FROM classes GROUP BY gs_set
    """
    return sql, params


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
