"""Vectorized conversion of one column to its catalog type (AGG-1, AGG-3).

Every function here works on whole Arrow arrays: values are trimmed, matched
and cast with ``pyarrow.compute`` and numpy, never with a Python call per
cell. Only the few values that turn out bad are looked at one by one, and
only to word a precise reason for the clerk (:func:`diagnose`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.identifiers import (
    USCC_CHARS,
    _fixed_width_bytes,
    id_check_char,
    is_region_code,
    normalize_id,
    region_code_mask,
    resident_id_mask,
    uscc_check_char,
    uscc_mask,
)

# Scale 10 keeps money and rates exact; 28 integer digits cover any amount.
DECIMAL_TYPE = pa.decimal128(38, 10)
# Wall-clock time as written in the source (Beijing time by convention).
DATETIME_TYPE = pa.timestamp("us")

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "decimal": DECIMAL_TYPE,
    "date": pa.date32(),
    "datetime": DATETIME_TYPE,
    "boolean": pa.bool_(),
}
KINDS = ("resident_id", "uscc", "region_code")

REQUIRED_REASON = "必填项为空"
TYPE_REASONS = {
    "integer": "不是有效整数",
    "decimal": "不是有效数值，最多 28 位整数、10 位小数",
    "date": "不是有效日期",
    "datetime": "不是有效日期时间",
    "boolean": "不是有效布尔值，应为 是/否、true/false、1/0",
}
KIND_REASONS = {
    "resident_id": "身份证号无效",
    "uscc": "统一社会信用代码无效",
    "region_code": "行政区划代码不存在",
}

_TRUE = ["true", "t", "yes", "y", "1", "是", "真", "有"]
_FALSE = ["false", "f", "no", "n", "0", "否", "假", "无"]

_YMD_SEP = r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
_YMD_COMPACT = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"
# A date cell from a spreadsheet often reads "2024-01-31 00:00:00".
_MIDNIGHT = r"(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?$"
_TIME = r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?$"
_COMPACT_DT = r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})$"


@dataclass
class Converted:
    """One column of one batch, converted."""

    values: pa.Array  # typed; null where the source was blank or bad
    bad: np.ndarray  # bool per row: present but invalid, or required and blank
    reasons: pa.Array  # string per row: the generic reason where bad, else null
    text: pa.Array  # the source as text (for reports and quarantine)


def as_text(raw: pa.Array) -> pa.Array:
    """The column as a string array; blank or whitespace-only values become null."""
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    if not pa.types.is_string(raw.type):
        raw = pc.cast(raw, pa.string())
    blank = pc.equal(pc.utf8_trim_whitespace(raw), "")
    if pc.any(blank).as_py():
        raw = pc.if_else(blank, pa.scalar(None, pa.string()), raw)
    return raw


def convert_column(
    raw: pa.Array, type_: str, kind: str | None, required: bool, today: date
) -> Converted:
    """Convert ``raw`` to the Arrow type for ``type_`` and validate ``kind``."""
    target = ARROW_TYPES[type_]
    text = as_text(raw)
    present = pc.is_valid(text).to_numpy(zero_copy_only=False)
    typed = _direct_cast(raw, target) if kind is None else None
    if typed is not None:
        values, ok = typed, np.ones(len(raw), dtype=bool)  # already typed (Parquet input)
    else:
        values, ok = _parse(text, type_)
        if kind is not None:
            ok &= _kind_mask(text, kind, today)
            if type_ == "string":
                values = _normalize(text, kind)
    bad_value = present & ~ok
    missing = ~present if required else np.zeros(len(text), dtype=bool)
    bad = bad_value | missing
    values = _null_where(values, bad_value)
    reasons = pa.nulls(len(text), pa.string())
    if bad.any():
        generic = KIND_REASONS[kind] if kind else TYPE_REASONS.get(type_, "")
        reasons = pc.if_else(
            pa.array(missing),
            REQUIRED_REASON,
            pc.if_else(pa.array(bad_value), generic, reasons),
        )
    return Converted(values=values, bad=bad, reasons=reasons, text=text)


def diagnose(value: str | None, type_: str, kind: str | None, today: date) -> str:
    """The precise reason one bad value was refused (called only for reported values)."""
    if value is None:
        return REQUIRED_REASON
    if kind == "resident_id":
        reason = _diagnose_resident_id(value, today)
        if reason:
            return reason
    elif kind == "uscc":
        reason = _diagnose_uscc(value)
        if reason:
            return reason
    elif kind == "region_code" and not is_region_code(value.strip()):
        return KIND_REASONS["region_code"]
    return TYPE_REASONS.get(type_, KIND_REASONS.get(kind or "", "值无效"))


def _diagnose_resident_id(value: str, today: date) -> str | None:
    v = normalize_id(value)
    if len(v) == 18:
        if not (v[:17].isdigit() and (v[17].isdigit() or v[17] == "X")):
            return "身份证号含非法字符"
        if id_check_char(v[:17]) != v[17]:
            return "身份证号校验位错误"
        birth = v[6:14]
    elif len(v) == 15:
        if not v.isdigit():
            return "身份证号含非法字符"
        birth = "19" + v[6:12]
    else:
        return f"身份证号应为 18 位或 15 位，实为 {len(v)} 位"
    if not is_region_code(v[:6]):
        return "身份证号地址码不存在"
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        return "身份证号出生日期无效"
    if born.year < 1900 or born > today:
        return "身份证号出生日期无效"
    return None


def _diagnose_uscc(value: str) -> str | None:
    v = value.strip().upper()
    if len(v) != 18:
        return f"统一社会信用代码应为 18 位，实为 {len(v)} 位"
    if any(c not in USCC_CHARS for c in v):
        return "统一社会信用代码含非法字符"
    if uscc_check_char(v[:17]) != v[17]:
        return "统一社会信用代码校验位错误"
    return None


# ------------------------------------------------------------------ helpers


def _direct_cast(raw: pa.Array, target: pa.DataType) -> pa.Array | None:
    """A typed source column (Parquet) cast without loss, or None to parse it as text."""
    if raw.type == target:
        return raw
    if pa.types.is_string(raw.type) or pa.types.is_null(raw.type):
        return None
    try:
        return pc.cast(raw, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    if not mask.any():
        return values
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def _kind_mask(text: pa.Array, kind: str, today: date) -> np.ndarray:
    # AGG-3: persons by resident ID, organizations by USCC, places by GB/T 2260 code.
    present = pc.is_valid(text).to_numpy(zero_copy_only=False)
    if kind == "resident_id":
        ok = resident_id_mask(text, today=today)
    elif kind == "uscc":
        ok = uscc_mask(text)
    else:
        ok = region_code_mask(text)
    return ok | ~present


def _normalize(text: pa.Array, kind: str) -> pa.Array:
    """Store identifiers in their canonical form (upper-case X, no spaces)."""
    trimmed = pc.utf8_trim_whitespace(text)
    if kind == "resident_id":
        return pc.utf8_upper(pc.replace_substring(trimmed, " ", ""))
    if kind == "uscc":
        return pc.utf8_upper(trimmed)
    return trimmed


def _parse(text: pa.Array, type_: str) -> tuple[pa.Array, np.ndarray]:
    """(typed values, ok) where ok is True for parsed values and for nulls."""
    n = len(text)
    present = pc.is_valid(text).to_numpy(zero_copy_only=False)
    if type_ == "string":
        return text, np.ones(n, dtype=bool)
    t = pc.utf8_trim_whitespace(text)
    if type_ in ("integer", "decimal"):
        t = pc.replace_substring_regex(t, r"^\+", "")
        pattern = r"^-?\d{1,18}$" if type_ == "integer" else r"^-?\d{1,28}(\.\d{0,10})?$"
        match = _matches(t, pattern)
        values = pc.cast(
            pc.if_else(pa.array(match), t, pa.scalar(None, pa.string())), ARROW_TYPES[type_]
        )
        return values, match | ~present
    if type_ == "boolean":
        low = pc.utf8_lower(t)
        is_true = pc.fill_null(pc.is_in(low, value_set=pa.array(_TRUE)), False)
        is_false = pc.fill_null(pc.is_in(low, value_set=pa.array(_FALSE)), False)
        ok = pc.or_(is_true, is_false).to_numpy(zero_copy_only=False)
        values = pc.if_else(pa.array(ok), is_true, pa.scalar(None, pa.bool_()))
        return values, ok | ~present
    if type_ == "date":
        return _parse_temporal(t, present, [_YMD_SEP + _MIDNIGHT, _YMD_COMPACT + _MIDNIGHT], False)
    if type_ == "datetime":
        patterns = [_YMD_SEP + _TIME, _YMD_COMPACT + _TIME, _COMPACT_DT]
        return _parse_temporal(t, present, patterns, True)
    raise ValueError(f"unknown field type {type_!r}")


def _matches(t: pa.Array, pattern: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(t, pattern), False).to_numpy(zero_copy_only=False)


def _field(struct: pa.StructArray, name: str, matched: np.ndarray) -> np.ndarray:
    if name not in [f.name for f in struct.type]:
        return np.zeros(len(struct), dtype=np.int64)
    f = pc.struct_field(struct, name)
    f = pc.if_else(pa.array(matched), f, pa.scalar("0"))
    f = pc.if_else(pc.equal(f, ""), pa.scalar("0"), f)
    return pc.cast(f, pa.int64()).to_numpy(zero_copy_only=False)


# The usual shapes, parsed from fixed byte offsets (no regex extraction).
_CANONICAL = {
    False: (r"^\d{4}-\d{2}-\d{2}$", 10),
    True: (r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$", 19),
}
_OFFSETS = {"y": (0, 4), "m": (5, 7), "d": (8, 10), "H": (11, 13), "M": (14, 16), "S": (17, 19)}


def _canonical_parts(t: pa.Array, width: int, parts: dict, idx: np.ndarray) -> None:
    digits = _fixed_width_bytes(pc.take(t, pa.array(idx)), width).astype(np.int64) - 48
    for key, (lo, hi) in _OFFSETS.items():
        if hi <= width:
            value = np.zeros(len(idx), dtype=np.int64)
            for pos in range(lo, hi):
                value = value * 10 + digits[:, pos]
            parts[key][idx] = value


def _regex_parts(t: pa.Array, patterns: list[str], parts: dict, idx: np.ndarray) -> np.ndarray:
    """Fill ``parts`` at ``idx`` from the first pattern each value matches; return matched."""
    sub = pc.take(t, pa.array(idx))
    matched = np.zeros(len(idx), dtype=bool)
    for pattern in patterns:
        struct = pc.extract_regex(sub, pattern)
        hit = pc.is_valid(struct).to_numpy(zero_copy_only=False) & ~matched
        if not hit.any():
            continue
        for key in ("y", "m", "d", "H", "M", "S"):
            parts[key][idx[hit]] = _field(struct, key, hit)[hit]
        if "f" in [f.name for f in struct.type]:
            frac = pc.utf8_rpad(pc.struct_field(struct, "f"), width=6, padding="0")
            parts["f"][idx[hit]] = _field(_wrap("f", frac), "f", hit)[hit]
        matched |= hit
    return matched


def _parse_temporal(
    t: pa.Array, present: np.ndarray, patterns: list[str], with_time: bool
) -> tuple[pa.Array, np.ndarray]:
    n = len(t)
    parts = {k: np.zeros(n, dtype=np.int64) for k in ("y", "m", "d", "H", "M", "S", "f")}
    pattern, width = _CANONICAL[with_time]
    canonical = _matches(t, pattern)
    matched = canonical.copy()
    if canonical.any():
        _canonical_parts(t, width, parts, np.flatnonzero(canonical))
    rest = np.flatnonzero(present & ~canonical)
    if len(rest):
        matched[rest] = _regex_parts(t, patterns, parts, rest)
    y, m, d, hh, mm, ss = (parts[k] for k in ("y", "m", "d", "H", "M", "S"))
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    mdays = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    mc = np.clip(m, 0, 12)
    ok = matched & (y >= 1000) & (m >= 1) & (m <= 12) & (d >= 1)
    ok &= d <= mdays[mc] + ((mc == 2) & leap)
    ok &= (hh <= 23) & (mm <= 59) & (ss <= 59)
    y, m, d = np.where(ok, y, 1970), np.where(ok, m, 1), np.where(ok, d, 1)
    months = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    days = (months.astype("datetime64[D]") - np.datetime64(0, "D")).astype(np.int64) + d - 1
    if with_time:
        micros = ((days * 24 + hh) * 60 + mm) * 60 + ss
        micros = micros * 1_000_000 + parts["f"]
        values = pa.array(micros, type=DATETIME_TYPE, mask=~ok)
    else:
        values = pa.array(days.astype(np.int32), type=pa.date32(), mask=~ok)
    return values, ok | ~present


def _wrap(name: str, arr: pa.Array) -> pa.StructArray:
    return pa.StructArray.from_arrays([arr], names=[name])


__all__ = [
    "ARROW_TYPES",
    "DECIMAL_TYPE",
    "DATETIME_TYPE",
    "KINDS",
    "Converted",
    "as_text",
    "convert_column",
    "diagnose",
]
