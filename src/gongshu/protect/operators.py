"""Masking and generalization operators over Arrow arrays (SEC-3, SEC-4).

Every operator takes a pyarrow ``Array`` or ``ChunkedArray`` and returns a
new ``Array`` of the same length; nulls stay null. The operators here run
as pyarrow compute kernels or numpy, never one Python call per value. The
keyed operators (pseudonymization, SM4 field encryption, format-preserving
encryption) live in ``keyed.py`` and are registered here too.

Operators fail closed: a value an operator cannot recognise (an address
without a province/city/district, an e-mail without ``@``, a date it cannot
read) is masked entirely or nulled, never passed through.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect import keyed
from gongshu.protect.errors import InvalidParameter, UnknownOperator

ArrayLike = pa.Array | pa.ChunkedArray
MASK = "*"

# Two-character surnames (复姓) seen in the population register; a name that
# starts with one of these keeps both characters.
COMPOUND_SURNAMES = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 "
    "澹台 公冶 太史 申屠 端木 独孤 南宫 西门 万俟 闻人 赫连 呼延 拓跋 百里 东郭 第五 "
    "司空 左丘 濮阳 淳于 单于 羊舌 微生 梁丘 谷梁 宰父 亓官 仲孙 鲜于 乐正 漆雕 公西 "
    "巫马 壤驷 公良 颛孙 子车 段干 南门 呼延 归海 羊舌 东门 西门 锺离 歐陽 司馬 諸葛"
).split()

# (keep_start, keep_end) per entity code for ``partial`` (spec/entities.md).
PARTIAL_DEFAULTS: dict[str, tuple[int, int]] = {
    "CN_RESIDENT_ID": (6, 4),
    "CN_MOBILE": (3, 4),
    "BANK_CARD": (0, 4),
    "CN_LANDLINE": (0, 4),
    "PASSPORT": (1, 2),
    "HK_MACAO_PERMIT": (1, 2),
    "CN_USCC": (8, 2),
}

_PROVINCE = (
    r"(?:[^省市区县旗0-9A-Za-z\s]{2,5}省|内蒙古自治区|广西壮族自治区|西藏自治区|"
    r"宁夏回族自治区|新疆维吾尔自治区|北京市|天津市|上海市|重庆市|香港特别行政区|澳门特别行政区)"
)
_CITY = r"(?:[^省市区县旗路街道号巷弄村镇乡0-9A-Za-z\s]{1,8}?(?:市|自治州|地区|盟))"
_DISTRICT = r"(?:[^省市区县旗路街道号巷弄村镇乡0-9A-Za-z\s]{1,6}?(?:区|县|旗|市))"
_ADDRESS_PATTERNS = {
    "province": rf"^(?P<keep>{_PROVINCE})",
    "city": rf"^(?P<keep>{_PROVINCE}?{_CITY}?)",
    "district": rf"^(?P<keep>{_PROVINCE}?{_CITY}?{_DISTRICT}?)",
}


def _array(values: ArrayLike) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def _strings(values: ArrayLike, op: str) -> pa.Array:
    arr = _array(values)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr.cast(pa.string())
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidParameter(op, "values", f"无法把 {arr.type} 类型的列当作文本处理") from exc


def _int_param(op: str, name: str, value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameter(op, name, f"须为不小于 {minimum} 的整数，收到 {value!r}")
    return value


def _masked_all(s: pa.Array, char: str) -> pa.Array:
    return pc.binary_repeat(char, pc.utf8_length(s))


def _keep_ends(s: pa.Array, keep_start: int, keep_end: int, char: str) -> pa.Array:
    """Keep ``keep_start`` leading and ``keep_end`` trailing characters, mask the middle.

    A value no longer than what would be kept is masked entirely.
    """
    n = pc.utf8_length(s)
    keep = keep_start + keep_end
    head = pc.utf8_slice_codeunits(s, 0, keep_start)
    tail = pc.utf8_slice_codeunits(s, -keep_end) if keep_end else pc.utf8_slice_codeunits(s, 0, 0)
    stars = pc.binary_repeat(char, pc.max_element_wise(pc.subtract(n, keep), 0))
    joined = pc.binary_join_element_wise(head, stars, tail, "")
    return pc.if_else(pc.greater(n, keep), joined, _masked_all(s, char))


def _compact(s: pa.Array) -> pa.Array:
    """Drop spaces and dashes, as written in phone and card numbers."""
    return pc.replace_substring_regex(s, r"[\s\-]", "")


def _mask_name(s: pa.Array, char: str) -> pa.Array:
    s = pc.utf8_trim_whitespace(s)
    n = pc.utf8_length(s)
    compound = pc.and_(
        pc.is_in(pc.utf8_slice_codeunits(s, 0, 2), value_set=pa.array(COMPOUND_SURNAMES)),
        pc.greater(n, 2),
    )
    one = _keep_ends(s, 1, 0, char)
    two = _keep_ends(s, 2, 0, char)
    return pc.if_else(compound, two, one)


def _mask_email(s: pa.Array, char: str) -> pa.Array:
    pattern = r"^([^@\s])[^@\s]*(@[^@\s]+)$"
    ok = pc.match_substring_regex(s, pattern)
    out = pc.replace_substring_regex(s, pattern, rf"\1{char * 3}\2")
    return pc.if_else(ok, out, _masked_all(s, char))


def _address_prefix(s: pa.Array, level: str) -> pa.Array:
    """The leading administrative part of an address; "" where none is recognised."""
    keep = pc.struct_field(pc.extract_regex(s, _ADDRESS_PATTERNS[level]), [0])
    return pc.if_else(pc.is_valid(s), pc.fill_null(keep, ""), pa.scalar(None, pa.string()))


def partial(
    values: ArrayLike,
    entity: str | None = None,
    *,
    keep_start: int | None = None,
    keep_end: int | None = None,
    mask_char: str = MASK,
) -> pa.Array:
    """Partial masking with per-entity defaults (resident ID 6+4, mobile 3+4 ...).

    PERSON_NAME keeps the surname (two characters for 复姓 such as 欧阳),
    EMAIL keeps its first character and the domain, ADDRESS keeps the text
    up to the district. Explicit ``keep_start``/``keep_end`` override the
    default; an entity without a default and without them is masked fully.
    """
    op = "partial"
    if not isinstance(mask_char, str) or len(mask_char) != 1:
        raise InvalidParameter(op, "mask_char", "须为单个字符")
    s = _strings(values, op)
    explicit = keep_start is not None or keep_end is not None
    if not explicit and entity == "PERSON_NAME":
        return _mask_name(s, mask_char)
    if not explicit and entity == "EMAIL":
        return _mask_email(pc.utf8_trim_whitespace(s), mask_char)
    if not explicit and entity == "ADDRESS":
        keep = _address_prefix(pc.utf8_trim_whitespace(s), "district")
        rest = pc.binary_repeat(mask_char, pa.scalar(4))
        return pc.binary_join_element_wise(keep, rest, "")
    start, end = PARTIAL_DEFAULTS.get(entity or "", (0, 0))
    start = _int_param(op, "keep_start", start if keep_start is None else keep_start)
    end = _int_param(op, "keep_end", end if keep_end is None else keep_end)
    if entity in ("CN_MOBILE", "BANK_CARD", "CN_RESIDENT_ID", "CN_LANDLINE"):
        s = _compact(s)
    if entity == "CN_MOBILE":
        s = pc.replace_substring_regex(s, r"^(?:\+?86|0086)(1\d{10})$", r"\1")
    return _keep_ends(s, start, end, mask_char)


def replace(values: ArrayLike, value: str = "***") -> pa.Array:
    """Every non-null value becomes ``value``."""
    if not isinstance(value, str):
        raise InvalidParameter("replace", "value", "替换值须为文本")
    arr = _array(values)
    return pc.if_else(pc.is_valid(arr), pa.scalar(value), pa.scalar(None, pa.string()))


def nullify(values: ArrayLike) -> pa.Array:
    """Every value becomes null; the column keeps its type."""
    arr = _array(values)
    return pa.nulls(len(arr), type=arr.type)


def truncate(values: ArrayLike, length: int) -> pa.Array:
    """Keep the first ``length`` characters."""
    length = _int_param("truncate", "length", length)
    return pc.utf8_slice_codeunits(_strings(values, "truncate"), 0, length)


def _timestamps(values: ArrayLike, op: str) -> pa.Array:
    arr = _array(values)
    if pa.types.is_timestamp(arr.type):
        return arr
    if pa.types.is_date(arr.type):
        return arr.cast(pa.timestamp("s"))
    s = pc.replace_substring(pc.utf8_trim_whitespace(_strings(arr, op)), "/", "-")
    iso = pc.strptime(
        pc.utf8_slice_codeunits(s, 0, 10), format="%Y-%m-%d", unit="s", error_is_null=True
    )
    compact = pc.strptime(
        pc.utf8_slice_codeunits(s, 0, 8), format="%Y%m%d", unit="s", error_is_null=True
    )
    return pc.coalesce(iso, compact)


def generalize_date(values: ArrayLike, level: str = "month") -> pa.Array:
    """Dates to ``YYYY-MM`` (month) or ``YYYY`` (year) text; unreadable dates become null."""
    formats = {"month": "%Y-%m", "year": "%Y"}
    if level not in formats:
        raise InvalidParameter("generalize_date", "level", f"须为 month 或 year，收到 {level!r}")
    return pc.strftime(_timestamps(values, "generalize_date"), format=formats[level])


def _numbers(values: ArrayLike, op: str) -> tuple[np.ndarray, np.ndarray]:
    arr = _array(values)
    if not (
        pa.types.is_integer(arr.type)
        or pa.types.is_floating(arr.type)
        or pa.types.is_decimal(arr.type)
    ):
        try:
            arr = _strings(arr, op).cast(pa.float64())
        except pa.ArrowInvalid as exc:
            raise InvalidParameter(op, "values", "须为数值列") from exc
    valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
    nums = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
    return nums, valid


def age_band(values: ArrayLike, width: int = 10, *, top: int | None = None) -> pa.Array:
    """Ages to bands ``"20-29"``; ages at or above ``top`` become ``"90+"``; negatives null."""
    op = "age_band"
    width = _int_param(op, "width", width, minimum=1)
    if top is not None:
        top = _int_param(op, "top", top, minimum=1)
    nums, valid = _numbers(values, op)
    valid = valid & (nums >= 0) & np.isfinite(nums)
    lo = (np.floor(np.where(valid, nums, 0) / width) * width).astype(np.int64)
    lo_s = pa.array(lo).cast(pa.string())
    hi_s = pa.array(lo + width - 1).cast(pa.string())
    band = pc.binary_join_element_wise(lo_s, hi_s, "-")
    if top is not None:
        band = pc.if_else(pa.array(nums >= top), pa.scalar(f"{top}+"), band)
    return pc.if_else(pa.array(valid), band, pa.scalar(None, pa.string()))


def generalize_address(values: ArrayLike, level: str = "district", mask: str = "") -> pa.Array:
    """Cut an address to its province, city or district; unrecognised addresses become null.

    ``mask`` (``"****"`` in the shipped policies) is put after every kept prefix: it
    stands for the remainder cut off, whatever its length (even none), so it tells
    nothing about the address; a run of stars also carries the recipient's
    watermark (``protect.watermark_channels``)."""
    op = "generalize_address"
    if level not in _ADDRESS_PATTERNS:
        raise InvalidParameter(op, "level", f"须为 province、city 或 district，收到 {level!r}")
    if not isinstance(mask, str) or len(mask) > 8:
        raise InvalidParameter(op, "mask", f"须为至多 8 个字符的文本，收到 {mask!r}")
    keep = _address_prefix(pc.utf8_trim_whitespace(_strings(values, op)), level)
    cut = pc.if_else(pc.greater(pc.utf8_length(keep), 0), keep, pa.scalar(None, pa.string()))
    return pc.binary_join_element_wise(cut, pa.scalar(mask), "") if mask else cut


METRES_PER_DEGREE = 111_320.0


def coordinate_grid(
    values: ArrayLike, cell_m: float, *, axis: str = "lat", ref_lat: float = 28.0
) -> pa.Array:
    """Snap latitudes or longitudes to the centre of a ``cell_m`` metre grid.

    Longitude cells use the width of a degree at ``ref_lat`` (default 28°N,
    mid-province) so one grid serves the whole column.
    """
    op = "coordinate_grid"
    if isinstance(cell_m, bool) or not isinstance(cell_m, int | float) or not cell_m > 0:
        raise InvalidParameter(op, "cell_m", f"须为正数（米），收到 {cell_m!r}")
    if axis not in ("lat", "lon"):
        raise InvalidParameter(op, "axis", f"须为 lat 或 lon，收到 {axis!r}")
    if not -89.0 <= ref_lat <= 89.0:
        raise InvalidParameter(op, "ref_lat", "参考纬度须在 -89 到 89 之间")
    nums, valid = _numbers(values, op)
    per_degree = METRES_PER_DEGREE * (math.cos(math.radians(ref_lat)) if axis == "lon" else 1.0)
    step = cell_m / per_degree
    snapped = np.floor(nums / step) * step + step / 2
    return pa.array(snapped, mask=~valid)


def laplace_noise(
    values: ArrayLike,
    epsilon: float,
    sensitivity: float = 1.0,
    rng: np.random.Generator | None = None,
) -> pa.Array:
    """Add Laplace(sensitivity/epsilon) noise to numeric aggregates (epsilon-DP per release)."""
    op = "laplace_noise"
    for name, v in (("epsilon", epsilon), ("sensitivity", sensitivity)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
            raise InvalidParameter(op, name, f"须为正数，收到 {v!r}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise InvalidParameter(op, "rng", "须为 numpy.random.Generator")
    rng = rng or np.random.default_rng()
    nums, valid = _numbers(values, op)
    return pa.array(nums + rng.laplace(0.0, sensitivity / epsilon, len(nums)), mask=~valid)


# ------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Param:
    types: tuple[type, ...]
    required: bool = False


@dataclass(frozen=True)
class Operator:
    """A named operator whose keyword parameters are checked before it runs."""

    name: str
    func: Callable[..., pa.Array]
    params: dict[str, Param] = field(default_factory=dict)

    def __call__(self, values: ArrayLike, **params: Any) -> pa.Array:
        for key in params:
            if key not in self.params:
                raise InvalidParameter(self.name, key, "该算子不支持此参数")
        for key, spec in self.params.items():
            if key not in params:
                if spec.required:
                    raise InvalidParameter(self.name, key, "缺少必填参数")
                continue
            value = params[key]
            if value is None and not spec.required:
                continue
            if isinstance(value, bool) and bool not in spec.types:
                raise InvalidParameter(self.name, key, f"类型不对，收到 {value!r}")
            if not isinstance(value, spec.types):
                raise InvalidParameter(self.name, key, f"类型不对，收到 {type(value).__name__}")
        return self.func(values, **params)


_INT = Param((int,))
_NUM = Param((int, float))
_STR = Param((str,))

OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator(
            "partial",
            partial,
            {"entity": _STR, "keep_start": _INT, "keep_end": _INT, "mask_char": _STR},
        ),
        Operator("replace", replace, {"value": _STR}),
        Operator("nullify", nullify),
        Operator("truncate", truncate, {"length": Param((int,), True)}),
        Operator("generalize_date", generalize_date, {"level": _STR}),
        Operator("age_band", age_band, {"width": _INT, "top": _INT}),
        Operator("generalize_address", generalize_address, {"level": _STR, "mask": _STR}),
        Operator(
            "coordinate_grid",
            coordinate_grid,
            {"cell_m": Param((int, float), True), "axis": _STR, "ref_lat": _NUM},
        ),
        Operator(
            "laplace_noise",
            laplace_noise,
            {
                "epsilon": Param((int, float), True),
                "sensitivity": _NUM,
                "rng": Param((np.random.Generator,)),
            },
        ),
        Operator(
            "pseudonymize",
            keyed.pseudonymize,
            {"key": Param((bytes,), True), "purpose": Param((str,), True), "length": _INT},
        ),
        Operator(
            "encrypt_field",
            keyed.encrypt_field,
            {"keystore": Param((object,), True), "purpose": _STR},
        ),
        Operator(
            "fpe_encrypt_digits",
            keyed.fpe_encrypt_digits,
            {"key": Param((bytes,), True), "purpose": _STR, "entity": _STR, "keep_start": _INT},
        ),
    )
}


def apply(name: str, values: ArrayLike, **params: Any) -> pa.Array:
    """Run the operator called ``name``; unknown names are refused."""
    try:
        op = OPERATORS[name]
    except KeyError:
        raise UnknownOperator(f"未知的脱敏算子：{name}", detail={"operator": name}) from None
    return op(values, **params)
