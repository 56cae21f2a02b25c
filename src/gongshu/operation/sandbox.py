"""The operator's sandbox: SQL over authorized data inside the platform (OPR-4).

"原始数据不出域、数据可用不可见": the operator's query runs here, in a DuckDB
connection that can read nothing but the tables we put into it, and only a
result that passes the disclosure check may become a product.

How the connection is closed off:

- Each authorized entry becomes one in-memory table ``entry_<id>``: its granted
  version, granted columns and row filter, masked by the grant's policy
  (identifiers pseudonymized or masked per the policy) before the operator
  sees a value. The tables are built from a separate loader connection; the
  sandbox connection itself never opens a file.
- ``enable_external_access=false`` (no file, network, ATTACH, COPY, INSTALL),
  ``memory_limit`` and ``threads`` set, then ``lock_configuration=true`` so
  SQL cannot undo them. A timer calls ``con.interrupt()`` at the time limit.
- Exactly one statement, of type SELECT; table functions are refused.

The disclosure check (``check``), in order:

1. No column carries an identifier entity: the result goes through the
   discovery classifier (DESIGN.md mechanism 4, the one classifier); a column
   in which it proves resident ID numbers, mobile numbers, names ... is
   refused. Values masked by the grant's policy (pseudonyms, ``3601**...``)
   are not proven as identifiers and pass.
2. An aggregate result (GROUP BY, or aggregate functions at the top level)
   reports only groups of at least ``min_group`` records. Verification: the
   query is re-planned from DuckDB's own parse tree (``json_serialize_sql``)
   with one ``count(DISTINCT <table>.rowid)`` appended per table it reads,
   and *that* query produces the result; each output row then carries the
   number of distinct source records behind it, which no SQL trick inside the
   query (joins, cross joins with ``range``, duplicated rows) can inflate.
   The counts that must reach ``min_group`` are those of tables holding
   personal data (any column tagged with a personal entity); if no table
   holds personal data, the largest count must. Only the aggregate functions
   in ``SAFE_AGGREGATES`` are allowed (``min``, ``max``, ``list``, ``first``...
   return one record's value), aggregates may not carry FILTER or CASE, and
   window functions are refused.
3. A row-level result (anything else) is allowed only when every table read
   is a version that passed the PIP-9 anonymity check (``anonymized`` set).

Known limit: a group-size threshold does not stop every differencing attack
(two passed aggregates whose difference isolates a person); the ledger keeps
every query so the authority can review them (OPR-9).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from gongshu import storage
from gongshu.catalog.models import CatalogEntry
from gongshu.datasets.anonymized import DIRECT_IDENTIFIERS, QUASI_IDENTIFIERS, SENSITIVE_ATTRIBUTES
from gongshu.egress.gates import Withholding
from gongshu.egress.models import Grant, MaskingPolicy
from gongshu.egress.policies import apply_actions, plan
from gongshu.egress.query import compile_filter
from gongshu.egress.versions import column_tags
from gongshu.entities import ENTITY_LABELS
from gongshu.operation.sqlerrors import explain
from gongshu.storage.models import DatasetVersion

PERSONAL = DIRECT_IDENTIFIERS | QUASI_IDENTIFIERS | SENSITIVE_ATTRIBUTES
SAFE_AGGREGATES = frozenset(
    {
        "count",
        "count_star",
        "sum",
        "avg",
        "mean",
        "median",
        "stddev",
        "stddev_samp",
        "stddev_pop",
        "variance",
        "var_samp",
        "var_pop",
    }
)
LABELS = {**ENTITY_LABELS, "CN_RESIDENT_ID": "身份证号码"}
COUNT_PREFIX = "__gs_n"


class Refusal(Exception):
    """The query or its result breaks a rule; ``rule`` is a short code, message Chinese."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass
class Source:
    """One authorized entry as the sandbox exposes it."""

    entry: CatalogEntry
    version: DatasetVersion
    grant: Grant
    policy: MaskingPolicy
    # What the door's gates keep back of this entry for this operator (``runs`` asks them
    # as the door does: the OPR-3 per-person consent gate); rows kept back per gate.
    withheld: list[Withholding] = field(default_factory=list)
    withheld_rows: list[int] = field(default_factory=list)
    rows_loaded: int = 0

    @property
    def table(self) -> str:
        return f"entry_{self.entry.id}"

    @property
    def personal(self) -> bool:
        tags = column_tags(self.entry, self.version)
        return any(PERSONAL & set(tags.get(c) or ()) for c in self.columns)

    @property
    def columns(self) -> list[str]:
        available = [c["name"] for c in self.version.columns]
        return [c for c in (self.grant.columns or available) if c in available]


@dataclass
class Result:
    table: pa.Table
    kind: str  # aggregate | rows
    sources: list[Source] = field(default_factory=list)
    smallest_group: int | None = None
    duration_ms: int = 0


def _load(source: Source, datasets_dir: Path, pseudonym_key: bytes, purpose: str) -> pa.Table:
    """The granted slice of one version, masked by the grant's policy, in memory."""
    columns = source.columns
    actions = plan(columns, column_tags(source.entry, source.version), source.policy.rules)
    where, params = compile_filter(
        source.grant.row_filter or [], {c["name"] for c in source.version.columns}
    )
    cols = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    loader = duckdb.connect()
    try:
        # one scan, sealed columns decrypted a frame at a time (issue 19 item 3)
        stored = storage.streamed(loader, datasets_dir, source.version)
        table = loader.sql(
            f"SELECT {cols} FROM {stored} WHERE {where}", params=params
        ).to_arrow_table()
    finally:
        loader.close()
    # The gates' withholding, on the raw values before masking, as the door applies it.
    # Not the door's own read (``egress.service.deliver``): that one watermarks values and
    # records a delivery, while the sandbox's rows never leave and must stay exact for
    # aggregates. The gates are the door's all the same (``egress.gates.withholdings``).
    source.withheld_rows = [0] * len(source.withheld)
    kept = []
    for batch in table.to_batches():
        for k, w in enumerate(source.withheld):
            passing = batch.filter(pa.array(w.keep(batch), type=pa.bool_()))
            source.withheld_rows[k] += batch.num_rows - passing.num_rows
            batch = passing
        kept.append(batch)
    source.rows_loaded = sum(b.num_rows for b in kept)
    batches = [
        apply_actions(b, actions, pseudonym_key=pseudonym_key, pseudonym_purpose=purpose)
        for b in kept
    ]
    return pa.Table.from_batches(batches, schema=batches[0].schema) if batches else table


def open_sandbox(
    sources: list[Source],
    *,
    datasets_dir: Path,
    pseudonym_key: bytes,
    purpose: str,
    memory_limit: str,
    threads: int = 1,
) -> duckdb.DuckDBPyConnection:
    """A locked DuckDB connection holding one table per source and nothing else."""
    con = duckdb.connect(config={"enable_external_access": False})
    try:
        for source in sources:
            data = _load(source, datasets_dir, pseudonym_key, purpose)
            con.register("__gs_load", data)
            con.execute(f'CREATE TABLE "{source.table}" AS SELECT * FROM __gs_load')
            con.unregister("__gs_load")
        con.execute(f"SET memory_limit = '{_size(memory_limit)}'")
        con.execute(f"SET threads = {max(1, int(threads))}")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _size(text: str) -> str:
    value = text.strip().upper().replace(" ", "")
    digits = value.rstrip("KMGTIB")
    if not digits.replace(".", "", 1).isdigit() or value[len(digits) :] not in (
        "KB",
        "MB",
        "GB",
        "TB",
        "KIB",
        "MIB",
        "GIB",
    ):
        raise ValueError(f"bad memory limit {text!r}")
    return value


def _parse(con: duckdb.DuckDBPyConnection, sql: str) -> dict:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise Refusal("syntax", explain(str(exc))) from exc
    if len(statements) != 1:
        raise Refusal("one_statement", "沙箱每次只能执行一条语句")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise Refusal("select_only", "沙箱只允许 SELECT 查询")
    ast = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    if ast.get("error"):
        raise Refusal("syntax", explain(ast.get("error_message") or ""))
    return ast


def _walk(node: object):  # noqa: ANN202
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _base_tables(from_table: dict) -> list[tuple[str, str]] | None:
    """(alias, table) for each table the FROM clause reads, or None if it is not only tables."""
    kind = from_table.get("type")
    if kind == "BASE_TABLE":
        return [(from_table.get("alias") or from_table["table_name"], from_table["table_name"])]
    if kind == "JOIN":
        left, right = _base_tables(from_table["left"]), _base_tables(from_table["right"])
        return None if left is None or right is None else left + right
    return None


def run(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    sources: list[Source],
    *,
    timeout: float,
    max_rows: int,
) -> Result:
    """Check the statement, run it under the time limit, return the result and its kind."""
    ast = _parse(con, sql)
    for node in _walk(ast):
        if node.get("type") == "TABLE_FUNCTION":
            raise Refusal("table_function", "沙箱中不允许调用表函数")
    aggregates = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() "
            "WHERE function_type = 'aggregate'"
        ).fetchall()
    }
    node = ast["statements"][0]["node"]
    by_name = {s.table: s for s in sources}
    named = {n["table_name"] for n in _walk(ast) if n.get("type") == "BASE_TABLE"}
    kind, counted, read = "rows", [], [s for s in sources if s.table in named]
    if node.get("type") == "SELECT_NODE":
        top_aggregate = any(
            n.get("class") == "FUNCTION" and n.get("function_name") in aggregates
            for n in _walk(node["select_list"])
        )
        distinct = any(m.get("type") == "DISTINCT_MODIFIER" for m in node.get("modifiers", []))
        if (node.get("group_expressions") or top_aggregate) and not distinct:
            kind = "aggregate"
            counted = _add_counts(con, ast, node, by_name, aggregates)
            read = [by_name[t] for _, t in counted]
            sql = con.execute("SELECT json_deserialize_sql(?)", [json.dumps(ast)]).fetchall()[0][0]
    started = time.monotonic()
    timer = threading.Timer(timeout, con.interrupt)
    timer.start()
    try:
        reader = con.sql(sql).to_arrow_reader(8192)
        batches, rows = [], 0
        for batch in reader:
            rows += batch.num_rows
            if rows > max_rows:
                raise Refusal("too_many_rows", f"结果超过 {max_rows} 行上限")
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except duckdb.InterruptException as exc:
        raise Refusal("time_limit", f"查询超过 {timeout:g} 秒时间限制，已中止") from exc
    except duckdb.OutOfMemoryException as exc:
        raise Refusal("memory_limit", "查询超过沙箱内存限制，已中止") from exc
    except duckdb.PermissionException as exc:
        raise Refusal("external_access", "沙箱禁止访问文件和网络：请只查询授权的沙箱表") from exc
    except duckdb.Error as exc:
        if "interrupt" in str(exc).lower():
            raise Refusal("time_limit", f"查询超过 {timeout:g} 秒时间限制，已中止") from exc
        raise Refusal("query_error", explain(str(exc))) from exc
    finally:
        timer.cancel()
    result = Result(table, kind, read, duration_ms=int((time.monotonic() - started) * 1000))
    if counted:
        result.table, result.smallest_group = _strip_counts(table, counted, by_name)
    return result


def _add_counts(con, ast: dict, node: dict, by_name: dict, aggregates: set[str]) -> list:  # noqa: ANN001
    """Append count(DISTINCT t.rowid) per table read; refuse value-revealing aggregates."""
    for n in _walk(node):
        if n.get("class") == "WINDOW":
            raise Refusal("window", "聚合结果中不允许使用窗口函数")
    for n in _walk(node):
        name = n.get("function_name")
        if n.get("class") == "FUNCTION" and name in aggregates:
            if name not in SAFE_AGGREGATES:
                raise Refusal(
                    "aggregate_function",
                    f"聚合函数 {name} 会暴露单条记录的取值，仅允许 count、sum、avg 等",
                )
            if n.get("filter") is not None or any(
                m.get("class") == "CASE" for m in _walk(n.get("arguments"))
            ):
                raise Refusal(
                    "conditional_aggregate",
                    f"聚合函数 {name} 中不允许带条件（FILTER/CASE），以防差分识别个人",
                )
    refs = _base_tables(node.get("from_table") or {})
    if not refs:
        raise Refusal(
            "aggregate_source",
            "聚合查询须直接读取授权数据表（FROM 中不得使用子查询、CTE 或集合运算）",
        )
    for _, table in refs:
        if table not in by_name:
            raise Refusal("not_granted", f"未获授权的数据表：{table}")
    template = json.loads(
        con.execute("SELECT json_serialize_sql('SELECT count(DISTINCT x.rowid) AS c')").fetchall()[
            0
        ][0]
    )["statements"][0]["node"]["select_list"][0]
    for k, (alias, _) in enumerate(refs):
        count = copy.deepcopy(template)
        count["alias"] = f"{COUNT_PREFIX}{k}"
        count["arguments"][0]["expression"]["column_names"] = [alias, "rowid"]
        node["select_list"].append(count)
    return refs


def _strip_counts(table: pa.Table, counted: list, by_name: dict) -> tuple[pa.Table, int]:
    """Drop the appended counts; return the smallest group size that must reach the minimum."""
    names = [f"{COUNT_PREFIX}{k}" for k in range(len(counted))]
    personal = [n for n, (_, t) in zip(names, counted, strict=True) if by_name[t].personal]
    smallest = None
    if table.num_rows:
        if personal:
            smallest = min(pc.min(table.column(n)).as_py() or 0 for n in personal)
        else:
            per_row = pc.max_element_wise(*[table.column(n) for n in names])
            smallest = pc.min(per_row).as_py()
    return table.drop_columns(names), smallest if smallest is not None else 0


def check(result: Result, *, min_group: int, today: date | None = None) -> None:
    """The disclosure check (OPR-4): identifiers, group sizes, anonymity. Raises Refusal."""
    from gongshu.discovery.classifier import classify_table

    table = result.table
    if table.num_columns and table.num_rows:
        text = pa.table({n: pc.cast(table.column(n), pa.string()) for n in table.column_names})
        found = classify_table(text, today=today or date.today())
        for col in found.columns:
            hits = [e for e in col.entities if e in DIRECT_IDENTIFIERS]
            if hits:
                label = "、".join(LABELS.get(e, e) for e in hits)
                raise Refusal(
                    "identifier",
                    f"结果包含未脱敏的{label}：列「{col.name}」",
                )
    if result.kind == "aggregate":
        if table.num_rows and (result.smallest_group or 0) < min_group:
            raise Refusal(
                "min_group",
                f"结果中最小的分组只有 {result.smallest_group} 条记录，少于最小分组要求 "
                f"{min_group} 条",
            )
        return
    raw = [s.entry.name for s in result.sources if not s.version.anonymized]
    if raw or not result.sources:
        raise Refusal(
            "not_anonymized",
            f"明细级结果只能来自通过匿名化认定的数据：{'、'.join(raw) or '未读取授权数据'}",
        )
