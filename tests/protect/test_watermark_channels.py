"""Helpers of the carrier channels read the same as the code they replaced (watermark_channels)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from gongshu.protect import watermark_channels as ch


def loop_scale(frac_len: np.ndarray, weights: np.ndarray | None) -> int:
    """``infer_scale`` as first written: one pass over the rows per candidate grid."""
    if frac_len.size == 0:
        return 0
    if weights is None:
        weights = np.ones(frac_len.size, np.int64)
    total, scale = int(weights.sum()), 0
    for d in range(1, ch.MAX_SCALE + 1):
        if int(weights[frac_len >= d].sum()) >= ch.SCALE_SHARE * total:
            scale = d
    return scale


@pytest.mark.parametrize("seed", range(30))
def test_grid_is_the_one_the_loop_found(seed: int) -> None:
    r = np.random.default_rng(seed)
    n = int(r.integers(0, 60))
    frac_len = r.choice([0, 0, 1, 2, 2, 3, 6, 9, 10, 25], n) if seed % 3 else np.zeros(n, int)
    for weights in (None, r.integers(0, 4, n), np.zeros(n, np.int64)):  # no rows: grid 9
        assert ch.infer_scale(frac_len, weights) == loop_scale(frac_len, weights)


def test_validity_is_read_through_offsets() -> None:
    text = pa.array(["12", None, "", "王**", None, "3.50", "x"] * 3)
    for lo, hi in ((0, 21), (1, 20), (4, 5), (6, 6)):
        part = text.slice(lo, hi - lo)
        assert ch.present(part).tolist() == [v is not None for v in part.to_pylist()]
