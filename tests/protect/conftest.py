"""Helpers shared by the watermark tests."""

from __future__ import annotations

import numpy as np

from gongshu.protect import watermark_channels as ch


def assert_same_view(fast: ch.View | None, slow: ch.View) -> None:
    assert fast is not None
    assert np.array_equal(fast.digit_counts(), slow.compressed()[2])  # before the hashes
    for attr in ("present", "kind", "bit", "digit", "neg", "magnitude"):
        a, b = getattr(fast, attr), getattr(slow, attr)
        assert a.dtype == b.dtype and np.array_equal(a, b), attr
    assert fast.scale == slow.scale
    for a, b in zip(fast.compressed(), slow.compressed(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
