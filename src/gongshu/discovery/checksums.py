"""Checksum kernels: GB 11643 resident IDs, GB 32100 credit codes, Luhn (bank
cards, IMEI) and VIN check digits, in numpy over fixed-width byte matrices.

Each returns (shape, valid) masks for a :class:`ColumnView`; shape is what the
value looks like (18 digits ...), valid is the full rule (check digit, issued
region, real birth date, BIN), so a column is judged by the share of values
that pass the full rule, not by any single hit (entities.md).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.discovery.columns import ColumnView, Masks, as_bool, fixed_width, lut, take_where
from gongshu.identifiers import region_codes

_DOUBLE = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int16)


def luhn_ok(digits: pa.Array, width: int = 19) -> np.ndarray:
    """Luhn check of all-digit strings up to ``width`` long (left-padded with zeros)."""
    if len(digits) == 0:
        return np.zeros(0, dtype=bool)
    d = (fixed_width(pc.utf8_lpad(digits, width, "0"), width) - 48).astype(np.int16)
    doubled = ((width - 1 - np.arange(width)) % 2) == 1
    total = d[:, ~doubled].sum(axis=1) + _DOUBLE[d[:, doubled]].sum(axis=1)
    return total % 10 == 0


_VIN_LUT = lut(
    {str(i): i for i in range(10)}
    | dict(zip("ABCDEFGH", range(1, 9), strict=True))
    | dict(zip("JKLMN", range(1, 6), strict=True))
    | {"P": 7, "R": 9}
    | dict(zip("STUVWXYZ", range(2, 10), strict=True))
)
_VIN_WEIGHTS = np.array([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)


@lru_cache(maxsize=1)
def _regionlut() -> np.ndarray:
    lut = np.zeros(1_000_000, dtype=bool)
    lut[np.array([int(c) for c in region_codes()], dtype=np.int64)] = True
    return lut


_ID_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int32)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_MDAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def _id_rows(b: np.ndarray, today: date) -> tuple[np.ndarray, np.ndarray]:
    """GB 11643 on an (n, 18) or (n, 15) byte matrix: (valid, birth yyyymmdd)."""
    width = b.shape[1]
    d = b.astype(np.int32) - 48
    body = d[:, :17] if width == 18 else d
    ok = ((body >= 0) & (body <= 9)).all(axis=1)
    if width == 18:
        total = (np.clip(body, 0, 9) * _ID_W).sum(axis=1) % 11
        ok &= _ID_CHECK[total] == b[:, 17]
        y = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
        m, day = d[:, 10] * 10 + d[:, 11], d[:, 12] * 10 + d[:, 13]
    else:
        y = 1900 + d[:, 6] * 10 + d[:, 7]
        m, day = d[:, 8] * 10 + d[:, 9], d[:, 10] * 10 + d[:, 11]
    region = (np.clip(d[:, :6], 0, 9) * np.array([100000, 10000, 1000, 100, 10, 1])).sum(axis=1)
    ok &= _regionlut()[region]
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    mc = np.clip(m, 0, 12)
    ok &= (m >= 1) & (m <= 12) & (day >= 1) & (day <= _MDAYS[mc] - ((mc == 2) & ~leap))
    ymd = y * 10000 + m * 100 + day
    ok &= (y >= 1900) & (ymd <= today.year * 10000 + today.month * 100 + today.day)
    return ok, np.where(ok, ymd, 0)


def _ids_in(values: pa.Array, width: int, today: date) -> tuple[np.ndarray, np.ndarray]:
    """Check values already known to be ``width`` ASCII characters long."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    return _id_rows(fixed_width(values, width), today)


def resident_id_birth(c: ColumnView) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shape, valid, birth yyyymmdd) for GB 11643 numbers, also the old 15-digit form and
    an ID embedded in a longer code (学籍号 = G + ID, ID + sequence number)."""
    key = ("resident_id",)
    if key in c._cache:
        return c._cache[key]
    n = len(c)
    nbytes = c.compact_bytes
    shape = np.zeros(n, dtype=bool)
    valid = np.zeros(n, dtype=bool)
    ymd = np.zeros(n, dtype=np.int64)
    for width in (18, 15):
        rows = nbytes == width
        if rows.any():
            idx, sub = take_where(c.compact, rows)
            b = fixed_width(sub, width)
            digits = (
                ((b >= 48) & (b <= 57)).all(axis=1)
                if width == 15
                else (
                    ((b[:, :17] >= 48) & (b[:, :17] <= 57)).all(axis=1)
                    & (((b[:, 17] >= 48) & (b[:, 17] <= 57)) | (b[:, 17] == ord("X")))
                )
            )
            shape[idx] = digits
            ok, born = _id_rows(b, c.today)
            valid[idx], ymd[idx] = ok & digits, born
    longer = (nbytes > 18) & (nbytes <= 30)
    if longer.any():
        idx, sub = take_where(c.compact, longer)
        hit = as_bool(pc.match_substring_regex(sub, r"^[0-9A-Z]{0,6}\d{17}[\dX][0-9A-Z]{0,6}$"))
        idx, sub = idx[hit], pc.filter(sub, pa.array(hit))
        shape[idx] = True
        for window in (pc.utf8_slice_codeunits(sub, -18), pc.utf8_slice_codeunits(sub, 0, 18)):
            ok, born = _ids_in(window, 18, c.today)
            ok &= ~valid[idx]
            valid[idx[ok]], ymd[idx[ok]] = True, born[ok]
    c._cache[key] = (shape, valid, ymd)
    return shape, valid, ymd


def k_resident_id(c: ColumnView) -> Masks:
    shape, valid, _ = resident_id_birth(c)
    return shape, valid


_USCC_LUT = np.full(256, -1, dtype=np.int32)
for _i, _ch in enumerate("0123456789ABCDEFGHJKLMNPQRTUWXY"):
    _USCC_LUT[ord(_ch)] = _i
_USCC_W = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int32)


def k_uscc(c: ColumnView) -> Masks:
    """GB 32100: 18 characters of the 31-character set, MOD 31 check character."""
    n = len(c)
    shape, valid = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    rows = c.compact_bytes == 18
    if rows.any():
        idx, sub = take_where(c.compact, rows)
        vals = _USCC_LUT[fixed_width(sub, 18)]
        ok = (vals >= 0).all(axis=1)
        total = (np.clip(vals[:, :17], 0, 30) * _USCC_W).sum(axis=1) % 31
        shape[idx] = ok
        valid[idx] = ok & ((31 - total) % 31 == vals[:, 17])
    return shape, valid


def k_bank_card(c: ColumnView) -> Masks:
    shape = c.match("compact", r"^\d{16,19}$")
    valid = shape & c.match("compact", r"^(62|60|4|5[1-5]|35|9)")
    if valid.any():
        idx, sub = take_where(c.compact, valid)
        valid[idx] = luhn_ok(sub, 19)
    return shape, valid


def k_imei(c: ColumnView) -> Masks:
    shape = c.match("compact", r"^\d{15}$")
    valid = shape.copy()
    if valid.any():
        idx, sub = take_where(c.compact, valid)
        valid[idx] = luhn_ok(sub, 15)
    return shape, valid


def k_vin(c: ColumnView) -> Masks:
    shape = c.match("compact", r"^[A-HJ-NPR-Z0-9]{17}$") & c.match("compact", r"[A-Z]")
    valid = shape.copy()
    if valid.any():
        idx, sub = take_where(c.compact, valid)
        b = fixed_width(sub, 17)
        total = (_VIN_LUT[b] * _VIN_WEIGHTS).sum(axis=1) % 11
        expected = np.where(total == 10, ord("X"), total + 48)
        valid[idx] = b[:, 8] == expected
    return shape, valid
