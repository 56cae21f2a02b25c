"""A run's DuckDB memory is capped and spills to scratch; a sealed column never spills
in the clear (issue 19 item 3)."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa

from gongshu.quality import engine, grouped
from gongshu.quality.rules import EXAMPLES

ROWS = 500_000


def _ids() -> pa.Table:
    # 18 characters that are easy to find in raw bytes; every value twice at the end
    values = [f"ZQ{i:016d}" for i in range(ROWS)]
    values += values[:5]
    return pa.table({"file_row_number": pa.array(range(len(values)), pa.int64()), "id": values})


def _spilled(spill: Path, run) -> tuple[int, bool]:  # noqa: ANN001
    """Run ``run()`` while reading what DuckDB writes to ``spill``: how many spill files
    were seen, and whether any held a value in the clear."""
    seen: set[str] = set()
    clear = [False]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for f in spill.glob("*") if spill.is_dir() else []:
                try:
                    data = f.read_bytes()
                except OSError:
                    continue
                seen.add(f.name)
                clear[0] = clear[0] or b"ZQ0000000000" in data
            done.wait(0.002)

    t = threading.Thread(target=watch)
    t.start()
    try:
        result = run()
    finally:
        done.set()
        t.join()
    return len(seen), clear[0], result


def test_uniqueness_of_a_sealed_column_spills_no_value_in_the_clear(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(engine, "MEMORY_LIMIT", "40MB")
    rule = {"id": "u", "column": "id", "expectation": "expect_column_values_to_be_unique"}
    results = {}
    for sealed in (False, True):
        spill = tmp_path / f"spill-{sealed}"
        con = engine.connect(spill=spill)
        con.execute("SET threads = 1")
        con.register("t", _ids())
        try:
            files, clear, res = _spilled(
                spill, lambda s=sealed, c=con: grouped.unique(c, lambda: "t", rule, sealed=s)
            )
        finally:
            con.close()
        assert files, "the GROUP BY did not spill: the check proves nothing"
        results[sealed] = (res.checked, res.failed, res.examples)
        # grouped by value, the values spill (what the check detects); by keyed digest, not
        assert clear is (not sealed)
    assert results[True] == results[False]
    assert results[True][1] == 5
    assert [e["id"] for e in results[True][2]] == [f"ZQ{i:016d}" for i in range(EXAMPLES)]


def test_a_run_spills_to_the_scratch_area_or_nowhere(tmp_path) -> None:  # noqa: ANN001
    con = engine.connect()
    try:
        assert con.execute("SELECT current_setting('temp_directory')").fetchall() == [("",)]
        limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit.replace(" ", "") in ("488.2MiB", "512.0MiB", "512MB")
    finally:
        con.close()
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    where = engine.spill_dir((datasets, None))
    assert where.parent.parent == (tmp_path / "tmp").resolve()


def test_compound_uniqueness_by_keyed_digest_counts_as_by_values() -> None:
    """Grouped by a keyed digest of the values (a sealed column among them), the same
    extra copies and examples as grouped by the values: missing values equal, rows all
    missing skipped, a value and its text in another column not confused."""
    a = ["1", "1", None, None, "1", "12", "1", None]
    b = ["2", "2", None, None, None, "", "2", "x"]
    table = pa.table({"file_row_number": pa.array(range(len(a)), pa.int64()), "a": a, "b": b})
    rule = {
        "id": "c",
        "expectation": "expect_compound_columns_to_be_unique",
        "column_list": ["a", "b"],
    }
    con = engine.connect()
    con.register("t", table)
    try:
        by_values = grouped.compound_unique(con, lambda: "t", rule)
        by_digest = grouped.compound_unique(con, lambda: "t", rule, sealed={"a"})
    finally:
        con.close()
    assert (by_digest.checked, by_digest.failed, by_digest.examples) == (
        by_values.checked,
        by_values.failed,
        by_values.examples,
    )
    assert (by_values.checked, by_values.failed) == (6, 2)
