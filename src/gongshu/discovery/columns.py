"""One Arrow column of one batch, as strings, with its normal forms computed once.

Shared by every detector kernel; nothing here calls Python once per value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Masks = tuple[np.ndarray, np.ndarray]


def as_bool(arr: pa.Array) -> np.ndarray:
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False)


def lut(pairs: dict[str, int]) -> np.ndarray:
    lut = np.zeros(256, dtype=np.int64)
    for ch, v in pairs.items():
        lut[ord(ch)] = v
    return lut


def fixed_width(arr: pa.Array, width: int) -> np.ndarray:
    """(n, width) uint8 matrix of ASCII strings that all have ``width`` characters."""
    arr = arr.cast(pa.binary())
    if len(arr) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[0] + len(arr) * width].reshape(len(arr), width)


@dataclass
class ColumnView:
    """One column of one batch as strings, with lazily computed normal forms."""

    raw: pa.Array
    today: date
    is_binary: bool = False
    _cache: dict = field(default_factory=dict)

    @classmethod
    def of(cls, column: pa.Array | pa.ChunkedArray, today: date) -> ColumnView:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        t = column.type
        binary = pa.types.is_binary(t) or pa.types.is_large_binary(t)
        if binary:
            column = pc.if_else(pc.is_null(column), pa.scalar(None, pa.string()), "<binary>")
        elif not pa.types.is_string(t):
            column = column.cast(pa.string())
        return cls(column, today, binary)

    def __len__(self) -> int:
        return len(self.raw)

    @cached_property
    def trim(self) -> pa.Array:
        return pc.utf8_trim_whitespace(self.raw)

    @cached_property
    def upper(self) -> pa.Array:
        return pc.ascii_upper(self.trim)

    @cached_property
    def compact(self) -> pa.Array:
        """Upper case without whitespace, dashes, brackets or middle dots (only the
        values that hold one are rewritten: most registers are clean)."""
        pattern = r"[\s\-()（）·•]+"
        dirty = pc.invert(pc.fill_null(pc.utf8_is_alnum(self.upper), True))
        if not pc.any(dirty).as_py():
            return self.upper
        dirty = pc.and_(dirty, pc.fill_null(pc.match_substring_regex(self.upper, pattern), False))
        fixed = pc.replace_substring_regex(pc.filter(self.upper, dirty), pattern, "")
        return pc.replace_with_mask(self.upper, dirty, fixed)

    @cached_property
    def lengths(self) -> np.ndarray:
        """Characters per trimmed value, 0 for null."""
        return pc.fill_null(pc.utf8_length(self.trim), 0).to_numpy(zero_copy_only=False)

    @cached_property
    def compact_bytes(self) -> np.ndarray:
        return pc.fill_null(pc.binary_length(self.compact), 0).to_numpy(zero_copy_only=False)

    @cached_property
    def nonnull(self) -> np.ndarray:
        return self.lengths > 0

    @cached_property
    def texty(self) -> np.ndarray:
        """Values that read as prose (non-ASCII or spaced, 6+ characters), where the
        text detectors look for embedded entities."""
        return (self.lengths >= 6) & self.match("trim", r"[^\x00-\x7F]|\s")

    def match(self, form: str, pattern: str) -> np.ndarray:
        key = (form, pattern)
        if key not in self._cache:
            self._cache[key] = as_bool(pc.match_substring_regex(getattr(self, form), pattern))
        return self._cache[key]

    def isin(self, form: str, values: tuple[str, ...]) -> np.ndarray:
        return as_bool(pc.is_in(getattr(self, form), value_set=pa.array(values, pa.string())))


def take_where(arr: pa.Array, mask: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    idx = np.flatnonzero(mask)
    if len(idx) == len(arr):
        return idx, arr
    return idx, pc.take(arr, pa.array(idx, pa.int64()))
