"""The numpy fast path of the identifier rules gives exactly the SQL's results (QUA-1):
the same checked and failed counts and the same examples, on planted errors of every
kind, in one batch and across many small ones."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gongshu.identifiers import id_check_char, is_resident_id
from gongshu.quality import engine, unique, vector
from gongshu.quality.engine import evaluate
from tests.quality.conftest import planted_rows

TODAY = dt.date(2026, 12, 1)
LOADED = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _id(region: str, ymd: str, seq: int) -> str:
    base = f"{region}{ymd}{seq:03d}"
    return base + id_check_char(base)


def _planted() -> list[str | None]:
    good = _id("360102", "19500101", 1)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    with_x = next(v for s in range(200) if (v := _id("110101", "19800229", s)).endswith("X"))
    return [
        good,
        bad_check,
        with_x,
        with_x[:17] + "x",  # lower-case x: the loader upper-cases, so stored it is an error
        _id("999999", "19500101", 2),  # no such region
        _id("010101", "19500101", 3),  # first digit 0 (no region, not "shaped" for the SQL)
        _id("360102", "19900230", 4),  # 30 February
        _id("360102", "19901301", 5),  # month 13
        _id("360102", "19900100", 6),  # day 0
        _id("360102", "20300101", 7),  # after today
        _id("360102", "18991231", 8),  # before 1900
        _id("360102", "19000229", 9),  # 1900 is not a leap year
        _id("360102", "20000229", 10),  # 2000 is
        "360102500101001",  # 15-digit form
        " " + good[:17],  # 18 bytes with a space
        good[:9] + " " + good[10:],  # a space inside
        good + " ",  # 19 bytes
        good[:17] + "Y",  # a letter at the end: 18 bytes, deferred to SQL
        "36010219500101001A",
        "1101011e12" + " " * 8,  # a number BIGINT would parse, 18 bytes
        "３６０１０２１９５００１０１００１Ｘ",  # full-width
        "张" + good[:15],  # 18 bytes, one of them not ASCII
        "",
        None,
        good,  # a repeat
        bad_check,  # a repeat of a wrong number
        "360102500101001",  # a repeat of an odd value
    ]


def _table(n: int) -> pa.Table:
    rng = np.random.default_rng(11)
    planted = _planted()
    ids, genders, births, mobiles = [], [], [], []
    gender_values = ["男", "女", "1", "2", "M", "F", "未知", None]
    mobile_values = [
        "13800138000",
        "12800138000",  # no such prefix
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "+8613800138000",
        "008613800138000",
        "8613800138000",
        "+8612800138000",
        "1380013800a",
        "138 0013800",
        "１３８００１３８０００",
        None,
        "",
    ]
    for i in range(n):
        if i % 7 == 0:
            value = planted[(i // 7) % len(planted)]
        else:
            region = ["360102", "110101", "440305"][i % 3]
            y, m, d = 1930 + i % 80, 1 + i % 12, 1 + i % 28
            value = _id(region, f"{y:04d}{m:02d}{d:02d}", i % 1000)
        ids.append(value)
        genders.append(gender_values[int(rng.integers(0, len(gender_values)))])
        if value and value.isascii() and len(value.strip()) >= 14 and i % 5:
            v = value.strip()
            try:
                births.append(dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14])))
            except ValueError:
                births.append(dt.date(1950, 1, 1))
        else:
            births.append(
                [None, dt.date(1950, 1, 1), dt.date(1, 1, 1), dt.date(9999, 12, 31)][i % 4]
            )
        mobiles.append(mobile_values[int(rng.integers(0, len(mobile_values)))])
    return pa.table(
        {
            "公民身份号码": pa.array(ids, pa.string()),
            "性别": pa.array(genders, pa.string()),
            "出生日期": pa.array(births, pa.date32()),
            "联系电话": pa.array(mobiles, pa.string()),
        }
    )


RULES = [
    {
        "id": "r1",
        "expectation": "expect_column_values_to_be_valid_resident_id",
        "column": "公民身份号码",
    },
    {
        "id": "r2",
        "expectation": "expect_resident_id_to_match_birth_date",
        "column": "公民身份号码",
        "birth_column": "出生日期",
    },
    {
        "id": "r3",
        "expectation": "expect_resident_id_to_match_gender",
        "column": "公民身份号码",
        "gender_column": "性别",
    },
    {
        "id": "r4",
        "expectation": "expect_column_values_to_match_entity",
        "column": "联系电话",
        "entity": "CN_MOBILE",
        "mostly": 0.99,
    },
    {"id": "r5", "expectation": "expect_column_values_to_be_unique", "column": "公民身份号码"},
    {"id": "r6", "expectation": "expect_column_values_to_not_be_null", "column": "联系电话"},
    {
        "id": "r7",
        "expectation": "expect_column_values_to_be_in_set",
        "column": "性别",
        "value_set": ["男", "女"],
    },
]


def _run(path, vectorized: bool) -> list[dict]:  # noqa: ANN001
    rows, results = evaluate(
        path,
        RULES,
        fields=[],
        today=TODAY,
        loaded_at=LOADED,
        previous_loaded_at=None,
        vectorized=vectorized,
    )
    return [r.to_dict() for r in results]


def _through_duckdb(monkeypatch) -> None:  # noqa: ANN001
    """Fetch the fast path's columns through DuckDB, as for a version with sealed columns."""
    monkeypatch.setattr(engine, "_plain_file", lambda path: None)


@pytest.mark.parametrize("reader", ["pyarrow", "duckdb"])
@pytest.mark.parametrize(
    ("batch", "rows", "workers", "run"),
    [(7, 16_384, 1, 1 << 20), (64, 5, 2, 3), (131_072, 16_384, 2, 300), (500, 100, 2, 700)],
)
def test_fast_path_gives_the_sql_results(  # noqa: ANN001
    tmp_path, monkeypatch, batch, rows, workers, run, reader
) -> None:
    path = tmp_path / "planted.parquet"
    pq.write_table(_table(2000), path, row_group_size=500)
    if reader == "duckdb":
        _through_duckdb(monkeypatch)
    monkeypatch.setattr(engine, "ROWS_PER_BATCH", batch)  # fetched at a time
    monkeypatch.setattr(engine, "SLICE_ROWS", rows)  # checked at a time
    monkeypatch.setattr(engine, "WORKERS", workers)
    monkeypatch.setattr(unique, "RUN_ROWS", run)  # keys sorted at a time (runs merged at the end)
    fast, sql = _run(path, True), _run(path, False)
    assert fast == sql
    by_id = {r["id"]: r for r in fast}
    # the planted errors are there (a test that cannot pass vacuously)
    assert by_id["r1"]["failed"] > 200 and len(by_id["r1"]["examples"]) == 3
    assert by_id["r2"]["failed"] > 0 and by_id["r3"]["failed"] > 0
    assert by_id["r4"]["failed"] > 100 and by_id["r5"]["failed"] > 200
    assert by_id["r5"]["examples"][0]["重复次数"] > 1
    assert by_id["r7"]["failed"] > 500 and {e["性别"] for e in by_id["r7"]["examples"]} - {None}


@pytest.mark.parametrize(
    "types",
    [
        # what a Parquet file's stored Arrow schema may bring back through pyarrow
        {"公民身份号码": pa.large_string(), "出生日期": pa.date64(), "性别": pa.large_string()},
        {"公民身份号码": pa.string_view(), "联系电话": pa.string_view()},
        {"性别": pa.dictionary(pa.int8(), pa.string()), "联系电话": pa.large_string()},
    ],
)
def test_other_arrow_types_give_the_sql_results(tmp_path, types) -> None:  # noqa: ANN001
    table = _table(700)
    for name, kind in types.items():
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, table.column(name).cast(kind))
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path, row_group_size=300)
    assert pq.read_schema(path).field(next(iter(types))).type == next(iter(types.values()))
    fast, sql = _run(path, True), _run(path, False)
    assert fast == sql
    assert {r["id"] for r in fast if r["failed"]} == {"r1", "r2", "r3", "r4", "r5", "r6", "r7"}


def test_an_empty_version_gives_the_same_results_both_ways(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "empty.parquet"
    pq.write_table(_table(50).slice(0, 0), path)
    fast, sql = _run(path, True), _run(path, False)
    assert fast == sql and len(fast) == len(RULES)
    assert all(r["checked"] == 0 and r["failed"] == 0 for r in fast)


@pytest.mark.parametrize("reader", ["pyarrow", "duckdb"])
@pytest.mark.parametrize(
    ("id_value", "gender", "birth", "mobile"),
    [
        (None, None, None, None),  # a slice without one value
        ("abc", "男", dt.date(2000, 1, 1), "x"),  # no value of the common width
        ("11010119900101123Y", "男", dt.date(1990, 1, 1), "+8613800138000"),  # all deferred
    ],
)
def test_uniform_slices_give_the_same_results_both_ways(  # noqa: ANN001
    tmp_path, monkeypatch, id_value, gender, birth, mobile, reader
) -> None:
    monkeypatch.setattr(engine, "SLICE_ROWS", 8)
    if reader == "duckdb":
        _through_duckdb(monkeypatch)
    path = tmp_path / "uniform.parquet"
    n = 20
    pq.write_table(
        pa.table(
            {
                "公民身份号码": pa.array([id_value] * n, pa.string()),
                "性别": pa.array([gender] * n, pa.string()),
                "出生日期": pa.array([birth] * n, pa.date32()),
                "联系电话": pa.array([mobile] * n, pa.string()),
            }
        ),
        path,
    )
    assert _run(path, True) == _run(path, False)


def test_the_fast_path_decides_the_identifier_rules() -> None:
    types = {
        "公民身份号码": "VARCHAR",
        "性别": "VARCHAR",
        "出生日期": "DATE",
        "联系电话": "VARCHAR",
    }
    con = engine.connect()
    try:
        prefixes = engine._mobile_prefixes(con)
    finally:
        con.close()
    checks = vector.Checks(RULES, types, TODAY, prefixes)
    assert checks.ids == {"r1", "r2", "r3", "r4", "r5"}
    # the gender column as stored (read with pyarrow): its code-set rule as well
    checks = vector.Checks(RULES, types, TODAY, prefixes, raw_genders=True)
    assert checks.ids == {"r1", "r2", "r3", "r4", "r5", "r7"}
    other = [{**RULES[6], "value_set": ["男", "女", "未知"]}]  # not all in GENDERS: SQL
    assert not vector.Checks(RULES[:6] + other, types, TODAY, prefixes, raw_genders=True).in_sets
    # a mobile number stored as a number is left to the SQL (it casts to text)
    checks = vector.Checks(RULES, {**types, "联系电话": "BIGINT"}, TODAY, prefixes)
    assert "r4" not in checks.ids


def test_fast_resident_id_check_agrees_with_the_scalar_validator(tmp_path) -> None:  # noqa: ANN001
    values = [v for v in _planted() if v is not None]
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"公民身份号码": pa.array(values * 3, pa.string())}), path)
    _, (res,) = evaluate(
        path, RULES[:1], fields=[], today=TODAY, loaded_at=LOADED, previous_loaded_at=None
    )
    # stored values are checked as stored (what normalization would change is an error),
    # and in the 18-character form only
    ok = [
        is_resident_id(v, today=TODAY) and v == v.strip().upper() and len(v) == 18 for v in values
    ]
    assert res.checked == 3 * len(values)
    assert res.failed == 3 * ok.count(False)


def test_a_sealed_stored_version_gives_the_same_results_both_ways(load, datasets_dir) -> None:  # noqa: ANN001
    version, _ = load(planted_rows(TODAY))  # the loader normalizes and checks the IDs
    assert version.sealed and "公民身份号码" in version.sealed["columns"]
    stored = (datasets_dir, version)
    fast, sql = (
        [
            r.to_dict()
            for r in evaluate(
                stored,
                RULES[:5],
                fields=[],
                today=TODAY,
                loaded_at=LOADED,
                previous_loaded_at=None,
                vectorized=v,
            )[1]
        ]
        for v in (True, False)
    )
    assert fast == sql
    assert {r["id"] for r in fast if r["failed"]} == {"r2", "r3", "r4", "r5"}


@pytest.mark.parametrize(
    ("run", "size"), [(1, 9), (2, 9), (5, 9), (13, 9), (1 << 20, 9), (3000, 800)]
)
@pytest.mark.parametrize("capacity", [7, 1_000_000])
def test_key_runs_count_like_one_sort(run, size, capacity, monkeypatch) -> None:  # noqa: ANN001
    """Keys sorted in runs (mixed, bucketed, then finished) and merged: sorted, and the
    same keys with the same copies, whatever the run length and the values (more keys
    than the capacity given: the buffer grows)."""
    monkeypatch.setattr(unique, "RUN_ROWS", run)
    rng = np.random.default_rng(3)
    span = np.iinfo(np.int64)
    chunks = [
        np.concatenate(
            [
                rng.integers(-50, 50, int(rng.integers(0, size))),  # many copies
                rng.integers(span.min, span.max, int(rng.integers(0, size)), endpoint=True),
                [span.min, span.max, 0, 1 << 62] * int(rng.integers(0, 2)),
            ]
        ).astype(np.int64)
        for _ in range(60)
    ]
    runs = unique.KeyRuns("r", capacity)
    for c in chunks:
        runs.add(c)
    ordered, extra, repeated = runs.repeats()
    assert (ordered[1:] >= ordered[:-1]).all()
    keys = np.concatenate(chunks)
    assert np.array_equal(np.sort(unique.unmix(ordered)), np.sort(keys))
    assert np.array_equal(unique.unmix(unique.mix(keys)), keys)
    values, copies = np.unique(keys, return_counts=True)
    assert extra == int((copies - 1).sum())  # one per extra copy, each value once less
    assert np.array_equal(np.sort(unique.unmix(repeated)), np.repeat(values, copies - 1))


def test_a_plain_stored_version_is_read_from_its_own_file(tmp_path) -> None:  # noqa: ANN001
    """A stored version without sealed columns: the fast path reads its Parquet file with
    pyarrow (the SQL path through ``storage.relation``), and both agree."""
    datasets_dir = tmp_path / "datasets"
    (datasets_dir / "v").mkdir(parents=True)
    pq.write_table(_table(600), datasets_dir / "v" / "plain.parquet", row_group_size=250)
    version = SimpleNamespace(id=1, path="v/plain.parquet", sealed=None)
    assert engine._plain_file((datasets_dir, version)) == datasets_dir / "v" / "plain.parquet"
    fast, sql = _run((datasets_dir, version), True), _run((datasets_dir, version), False)
    assert fast == sql == _run(datasets_dir / "v" / "plain.parquet", True)
    assert {r["id"] for r in fast if r["failed"]} >= {"r1", "r2", "r3", "r4", "r5"}


def test_repeated_valid_ids_are_shown_at_their_first_rows(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Slices of valid numbers only (their row positions are not kept): the repeats are
    found, counted and shown at their first row, as the SQL does."""
    monkeypatch.setattr(engine, "SLICE_ROWS", 16)
    monkeypatch.setattr(unique, "RUN_ROWS", 40)
    ids = [_id("360102", "19500101", i) for i in range(300)]
    ids[250], ids[260], ids[290] = ids[37], ids[37], ids[120]
    path = tmp_path / "repeats.parquet"
    pq.write_table(pa.table({"公民身份号码": pa.array(ids, pa.string())}), path)
    rules = [RULES[4]]
    fast, sql = (
        evaluate(
            path,
            rules,
            fields=[],
            today=TODAY,
            loaded_at=LOADED,
            previous_loaded_at=None,
            vectorized=v,
        )[1][0].to_dict()
        for v in (True, False)
    )
    assert fast == sql
    assert fast["failed"] == 3
    assert [(e["gs_row"], e["重复次数"]) for e in fast["examples"]] == [(37, 3), (120, 2)]


def test_missing_sealed_ids_are_counted_by_the_fetch_as_by_the_aggregate(
    load, datasets_dir
) -> None:  # noqa: ANN001
    """A sealed column the fast path fetches: its missing values are counted there (the
    aggregate does not decrypt it again), with the same counts and example as in SQL."""
    rows = planted_rows(TODAY)
    rows[6][1] = rows[11][1] = ""  # two missing resident IDs
    version, _ = load(rows)
    assert version.sealed and "公民身份号码" in version.sealed["columns"]
    rules = [
        {
            "id": "n1",
            "expectation": "expect_column_values_to_not_be_null",
            "column": "公民身份号码",
        },
        {"id": "n2", "expectation": "expect_column_values_to_not_be_null", "column": "姓名"},
        *RULES[:1],
    ]
    fast, sql = (
        [
            r.to_dict()
            for r in evaluate(
                (datasets_dir, version),
                rules,
                fields=[],
                today=TODAY,
                loaded_at=LOADED,
                previous_loaded_at=None,
                vectorized=v,
            )[1]
        ]
        for v in (True, False)
    )
    assert fast == sql
    assert (fast[0]["checked"], fast[0]["failed"]) == (20, 2)
    assert [e["row"] if "row" in e else e["gs_row"] for e in fast[0]["examples"]] == [6, 11]
