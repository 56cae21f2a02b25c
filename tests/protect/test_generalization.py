"""Generalization and suppression to a target k, with the least information loss."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from gongshu.protect.anonymity import measure
from gongshu.protect.errors import InvalidParameter
from gongshu.protect.generalization import bands, dates, flat, generalize, prefixes


def people(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "age": rng.integers(18, 90, n),
            "gender": rng.choice(np.array(["男", "女"]), n),
            "district": rng.choice(np.array(["360102", "360103", "360111", "360121", "361002"]), n),
            "diagnosis": rng.choice(np.array(["J10", "E11", "I10"]), n),
            "rid": np.arange(n),
        }
    )


HIERARCHIES = {"age": bands(5, 10, 20), "gender": flat(), "district": prefixes(4, 2)}


@pytest.mark.parametrize(("k", "max_suppression"), [(2, 0.0), (5, 0.05), (10, 0.02)])
def test_result_reaches_k_with_least_loss(k: int, max_suppression: float) -> None:
    table = people(300, seed=k)
    result = generalize(
        table, HIERARCHIES, k, max_suppression=max_suppression, sensitive="diagnosis"
    )
    assert result.report.k >= k
    assert result.table.num_rows == table.num_rows - result.suppressed_rows
    assert result.suppressed_rows <= max_suppression * table.num_rows
    # Rows are dropped, never reordered or altered outside the quasi-identifiers.
    rid = result.table.column("rid").to_numpy()
    assert (np.diff(rid) > 0).all()
    original = table.column("diagnosis").to_numpy(zero_copy_only=False)
    assert result.table.column("diagnosis").to_pylist() == original[rid].tolist()
    # Brute force over the whole lattice: no feasible node loses less.
    names = list(HIERARCHIES)
    tops = [HIERARCHIES[n].top for n in names]
    best = None
    for node in itertools.product(*(range(t + 1) for t in tops)):
        gen = table
        for name, level in zip(names, node, strict=True):
            col = HIERARCHIES[name].apply(table.column(name).combine_chunks(), level)
            gen = gen.set_column(gen.column_names.index(name), name, col)
        dropped = measure(gen, names).rows_below(k)
        if dropped > max_suppression * table.num_rows:
            continue
        precision = sum(x / t for x, t in zip(node, tops, strict=True)) / len(names)
        share = dropped / table.num_rows
        loss = share + (1 - share) * precision
        best = loss if best is None else min(best, loss)
    assert result.loss == pytest.approx(best)


def test_unique_rows_force_generalization() -> None:
    table = pa.table({"age": [21, 22, 23, 24, 35, 36, 37, 38], "gender": ["男"] * 8})
    result = generalize(table, {"age": bands(10, 20), "gender": flat()}, 4, max_suppression=0.0)
    assert result.levels == {"age": 1, "gender": 0}
    assert result.table.column("age").to_pylist() == ["20-29"] * 4 + ["30-39"] * 4
    assert result.suppressed_rows == 0
    assert result.precision_loss == pytest.approx((1 / 3) / 2)
    assert result.as_dict()["report"]["k"] == 4


def test_suppression_beats_generalizing_one_outlier() -> None:
    table = pa.table({"age": [30] * 50 + [99], "gender": ["女"] * 51})
    result = generalize(table, {"age": bands(10), "gender": flat()}, 5, max_suppression=0.05)
    assert result.levels == {"age": 0, "gender": 0}
    assert result.suppressed_rows == 1
    assert 99 not in [int(a) for a in result.table.column("age").to_pylist()]


def test_date_hierarchy() -> None:
    births = pa.array([date(1990, 1, d) for d in range(1, 11)], type=pa.date32())
    table = pa.table({"birth": births})
    result = generalize(table, {"birth": dates("month", "year")}, 10, max_suppression=0.0)
    assert result.levels == {"birth": 1}
    assert set(result.table.column("birth").to_pylist()) == {"1990-01"}


def test_infeasible_and_bad_parameters() -> None:
    table = pa.table({"age": [20, 40, 60]})
    with pytest.raises(InvalidParameter, match="k=4"):
        generalize(table, {"age": bands(10)}, 4)
    with pytest.raises(InvalidParameter, match="max_suppression"):
        generalize(table, {"age": bands(10)}, 2, max_suppression=1.5)
    with pytest.raises(InvalidParameter, match="没有列 zip"):
        generalize(table, {"zip": flat()}, 2)
