"""The rules that need a GROUP BY or a join: uniqueness of one column (64-bit hashes)
or of a combination (``column_list``), and the same object in another entry.

``source()`` gives the SQL text for ``FROM`` of one scan (a stream of a version with
sealed columns is read once: each scan asks for its own). The engine's connection
caps DuckDB's memory and spills the rest to scratch; so that no sealed value is ever
spilled in the clear, a uniqueness rule over a sealed column (``sealed``) groups by a
keyed digest of the values (SHA-256 under a key drawn for the query, ``keyed``) and
reads the values of its few examples by row afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import duckdb

from gongshu.quality.results import Reference, RuleResult, plain
from gongshu.quality.rules import EXAMPLES
from gongshu.quality.sql import q


def salt() -> str:
    """A fresh key for ``keyed`` (hex: safe as an SQL literal)."""
    return secrets.token_hex(16)


def keyed(expr: str, key: str) -> str:
    """SQL: a keyed SHA-256 digest of ``expr``'s text (one to one for practical
    purposes; without ``key``, which lives in this process only, it says nothing)."""
    return f"sha256('{key}' || CAST({expr} AS VARCHAR))"


def _values_at(
    con: duckdb.DuckDBPyConnection, source: Callable[[], str], names: list[str], rows: list[int]
) -> dict[int, tuple]:
    """The values of ``names`` at the rows (file positions) ``rows``: one more scan."""
    if not rows:
        return {}
    cols = ", ".join(q(c) for c in names)
    found = con.execute(
        f"SELECT file_row_number, {cols} FROM {source()} "
        f"WHERE file_row_number IN ({', '.join(str(int(r)) for r in rows)})"
    ).fetchall()
    return {int(r[0]): tuple(r[1:]) for r in found}


def unique(
    con: duckdb.DuckDBPyConnection,
    source: Callable[[], str],
    rule: dict,
    *,
    sealed: bool = False,
) -> RuleResult:
    """One GROUP BY over 64-bit hashes of the key: the extra copies and the first
    repeated values. A hash collision among 10^7 values has a probability of about
    3e-6 and could only make two different values count as one repeat. ``sealed``:
    the column is sealed at rest, grouped by keyed digest (see the module)."""
    c = q(rule["column"])
    if sealed:
        key = salt()
        rows = con.execute(
            f"SELECT h.r, NULL, h.n, sum(h.n - 1) OVER (), t.total FROM "
            f"(SELECT count({c}) AS total FROM {source()}) t LEFT JOIN "
            f"(SELECT min(file_row_number) AS r, count(*) AS n FROM {source()} "
            f"WHERE {c} IS NOT NULL GROUP BY {keyed(c, key)} HAVING count(*) > 1) h ON TRUE "
            f"ORDER BY h.r LIMIT {EXAMPLES}"
        ).fetchall()
        values = _values_at(con, source, [rule["column"]], [r[0] for r in rows if r[2]])
        rows = [(r, values[r][0] if n else None, n, s, t) for r, _, n, s, t in rows]
    else:
        rows = con.execute(
            f"SELECT h.r, h.v, h.n, sum(h.n - 1) OVER (), t.total FROM "
            f"(SELECT count({c}) AS total FROM {source()}) t LEFT JOIN "
            f"(SELECT min(file_row_number) AS r, any_value({c}) AS v, count(*) AS n "
            f"FROM {source()} "
            f"WHERE {c} IS NOT NULL GROUP BY hash({c}) HAVING count(*) > 1) h ON TRUE "
            f"ORDER BY h.r LIMIT {EXAMPLES}"
        ).fetchall()
    total = int(rows[0][4]) if rows else 0
    extra = int(rows[0][3] or 0) if rows else 0
    examples = [
        plain({"gs_row": r, rule["column"]: v, "重复次数": n}) for r, v, n, _, _ in rows if n
    ]
    return RuleResult(rule, total, extra, examples)


def compound_unique(
    con: duckdb.DuckDBPyConnection,
    source: Callable[[], str],
    rule: dict,
    *,
    sealed: set[str] | frozenset[str] = frozenset(),
) -> RuleResult:
    """Great Expectations' ``expect_compound_columns_to_be_unique``: the combination of
    ``column_list`` occurs once. Rows whose values are all missing are skipped (its
    default ``ignore_row_if``); a missing value equals another missing value. Failed
    are the extra copies, as for one column; the groups are exact (GROUP BY the values),
    or, when a column is ``sealed``, by a keyed digest of them all (each value's text
    with its length, or a mark for a missing one)."""
    names = list(dict.fromkeys(rule["column_list"]))
    cols = ", ".join(q(c) for c in names)
    present = " OR ".join(f"{q(c)} IS NOT NULL" for c in names)
    if set(names) & set(sealed):
        text = " || ".join(
            f"CASE WHEN {q(c)} IS NULL THEN '-' ELSE "
            f"'+' || length(CAST({q(c)} AS VARCHAR)) || ':' || CAST({q(c)} AS VARCHAR) END"
            for c in names
        )
        rows = con.execute(
            f"SELECT h.gs_r, h.gs_n, sum(h.gs_n - 1) OVER (), t.total FROM "
            f"(SELECT count(*) FILTER (WHERE {present}) AS total FROM {source()}) t LEFT JOIN "
            f"(SELECT min(file_row_number) AS gs_r, count(*) AS gs_n FROM {source()} "
            f"WHERE {present} GROUP BY {keyed(f'({text})', salt())} HAVING count(*) > 1) h "
            f"ON TRUE ORDER BY h.gs_r LIMIT {EXAMPLES}"
        ).fetchall()
        values = _values_at(con, source, names, [r[0] for r in rows if r[1]])
        rows = [(r, *(values[r] if n else (None,) * len(names)), n, s, t) for r, n, s, t in rows]
    else:
        rows = con.execute(
            f"SELECT h.*, sum(h.gs_n - 1) OVER (), t.total FROM "
            f"(SELECT count(*) FILTER (WHERE {present}) AS total FROM {source()}) t LEFT JOIN "
            f"(SELECT min(file_row_number) AS gs_r, {cols}, count(*) AS gs_n FROM {source()} "
            f"WHERE {present} GROUP BY {cols} HAVING count(*) > 1) h ON TRUE "
            f"ORDER BY h.gs_r LIMIT {EXAMPLES}"
        ).fetchall()
    total = int(rows[0][-1]) if rows else 0
    extra = int(rows[0][-2] or 0) if rows else 0
    examples = [
        plain({"gs_row": r[0], **dict(zip(names, r[1:-3], strict=True)), "重复次数": r[-3]})
        for r in rows
        if r[-3]
    ]
    return RuleResult(rule, total, extra, examples)


def reference(
    con: duckdb.DuckDBPyConnection,
    src: str,
    rule: dict,
    ref: Reference | None,
    rsrc: str | None,
) -> RuleResult:
    """The same person or organization in another entry: do the compared fields agree?"""
    pairs = [p for p in rule.get("compare") or [] if ref is not None and p[1] in ref.columns]
    if ref is None or rule.get("ref_column") not in ref.columns or not pairs:
        return RuleResult(rule, 0, 0, detail="参照目录尚无可比对的数据")
    key, rkey = q(rule["column"]), q(rule["ref_column"])
    cols = ", ".join(f"{q(b)} AS gs_r{i}" for i, (_, b) in enumerate(pairs))
    same = " AND ".join(
        f"CAST(a.{q(a)} AS VARCHAR) IS NOT DISTINCT FROM CAST(r.gs_r{i} AS VARCHAR)"
        for i, (a, _) in enumerate(pairs)
    )
    which = " || ".join(
        f"CASE WHEN CAST(a.{q(a)} AS VARCHAR) IS DISTINCT FROM CAST(r.gs_r{i} AS VARCHAR) "
        f"THEN '{a.replace(chr(39), '')} ' ELSE '' END"
        for i, (a, _) in enumerate(pairs)
    )
    shown = ", ".join(
        f"{q(c)} := a.{q(c)}" for c in dict.fromkeys([rule["column"], *(p[0] for p in pairs)])
    )
    sql = (
        f"SELECT count(*), count(*) FILTER (WHERE NOT ({same})), "
        f"arg_min(struct_pack(gs_row := a.file_row_number, {shown}, 不一致字段 := trim({which})), "
        f"a.file_row_number, {EXAMPLES}) FILTER (WHERE NOT ({same})) "
        f"FROM {src} a JOIN (SELECT upper(trim({rkey})) AS gs_k, {cols} FROM {rsrc} "
        f"WHERE {rkey} IS NOT NULL QUALIFY row_number() OVER (PARTITION BY gs_k) = 1) r "
        f"ON upper(trim(a.{key})) = r.gs_k"
    )
    checked, failed, examples = con.execute(sql).fetchall()[0]
    return RuleResult(
        rule,
        int(checked),
        int(failed),
        [plain(e) for e in examples or []],
        detail=f"与参照目录匹配到 {checked} 条",
    )
