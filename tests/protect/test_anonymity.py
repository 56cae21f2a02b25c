"""k-anonymity, l-diversity and t-closeness, with pycanon as the oracle."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pycanon import anonymity as oracle

from gongshu.protect.anonymity import measure
from gongshu.protect.errors import InvalidParameter

QI = ["age_band", "gender", "district"]


def sample(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age_band": rng.choice(["20-29", "30-39", "40-49", "50-59", "60+"], n),
            "gender": rng.choice(["男", "女"], n),
            "district": rng.choice(["360102", "360103", "360104", "360111", "360121"], n),
            "diagnosis": rng.choice(
                ["J10", "E11", "I10", "C34", "Z00"], n, p=[0.3, 0.2, 0.3, 0.05, 0.15]
            ),
            "income": rng.integers(2, 30, n) * 1000,
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("n", [60, 400, 2500])
def test_agrees_with_pycanon(n: int, seed: int) -> None:
    df = sample(n, seed)
    table = pa.Table.from_pandas(df, preserve_index=False)
    for sensitive in (["diagnosis"], ["income"], ["diagnosis", "income"]):
        report = measure(table, QI, sensitive)
        assert report.k == oracle.k_anonymity(df, QI)
        assert report.l == oracle.l_diversity(df, QI, sensitive)
        assert report.t == pytest.approx(oracle.t_closeness(df, QI, sensitive), abs=1e-9)
    assert report.equivalence_classes == df.groupby(QI).ngroups


def test_textbook_table() -> None:
    # Three classes: sizes 3, 2 and 1 -> k = 1; the singleton is fully exposed.
    table = pa.table(
        {
            "zip": ["330", "330", "330", "331", "331", "332"],
            "age": ["2x", "2x", "2x", "3x", "3x", "4x"],
            "disease": ["flu", "flu", "hiv", "flu", "flu", "cold"],
        }
    )
    report = measure(table, ["zip", "age"], "disease")
    assert (report.k, report.l, report.equivalence_classes) == (1, 1, 3)
    assert report.max_risk == 1.0
    assert report.average_risk == pytest.approx(0.5)
    assert report.rows_below(2) == 1 and report.rows_below(3) == 3
    assert not report.satisfies(k=2)
    assert report.satisfies(k=1, l=1)
    assert report.as_dict()["k"] == 1


def test_nulls_form_their_own_class() -> None:
    table = pa.table({"zip": ["330", "330", None], "disease": ["a", "b", "a"]})
    report = measure(table, ["zip"], "disease")
    assert report.k == 1 and report.equivalence_classes == 2


def test_without_sensitive_and_empty_table() -> None:
    table = pa.table({"zip": ["330"] * 5})
    report = measure(table, ["zip"])
    assert (report.k, report.l, report.t) == (5, None, None)
    assert not report.satisfies(l=2)
    empty = measure(table.slice(0, 0), ["zip"])
    assert empty.k == 0 and empty.rows == 0


def test_bad_columns_are_named() -> None:
    table = pa.table({"zip": ["330"], "disease": ["a"]})
    with pytest.raises(InvalidParameter, match="没有列 age"):
        measure(table, ["zip", "age"])
    with pytest.raises(InvalidParameter, match="disease"):
        measure(table, ["zip", "disease"], "disease")
    with pytest.raises(InvalidParameter, match="准标识符"):
        measure(table, [])


def test_million_rows_five_quasi_identifiers_is_fast() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    table = pa.table(
        {
            "age": rng.integers(0, 100, n),
            "gender": rng.choice(np.array(["男", "女"]), n),
            "district": rng.integers(360102, 360140, n).astype(str),
            "education": rng.choice(np.array(["小学", "初中", "高中", "本科", "研究生"]), n),
            "birth_month": rng.integers(1, 13, n),
            "diagnosis": rng.choice(np.array(["J10", "E11", "I10", "C34", "Z00"]), n),
        }
    )
    started = time.perf_counter()
    report = measure(table, ["age", "gender", "district", "education", "birth_month"], "diagnosis")
    elapsed = time.perf_counter() - started
    assert report.rows == n and report.k >= 1 and report.l >= 1
    assert elapsed < 5.0, f"measure took {elapsed:.2f}s"
