"""Masked values keep their entity (PIPL art. 73: de-identified data is still personal).

``110105********002X``, ``138****5678``, ``6222 **** **** 1234``, ``张*明``,
``浙江省杭州市西湖区****``, ``z***@163.com``, ``浙A***45``. What stays visible
must still pass the rule it can be checked against (the region code and birth
date of an ID, a mobile prefix, a card's BIN), and enough of it must stay: a
fully masked value (``************``) proves nothing and matches no kernel.
Every kernel returns ``(shape, valid)`` masks like ``detectors``; the classifier
flags the evidence ``masked: true``.
"""

from __future__ import annotations

import numpy as np

from gongshu.discovery.checksums import _regionlut
from gongshu.discovery.columns import ColumnView, Masks, fixed_width, take_where

MASK_CHARS = "*＊×●"
_M = "[*＊×●]"
_ANY_MASK = rf"{_M}"
# 11, 12 ... 82: the province codes of GB/T 2260.
_PROVINCES = np.zeros(100, dtype=bool)
_PROVINCES[[11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44]] = True
_PROVINCES[[45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82]] = True


def _masked_compact(c: ColumnView):
    """The compact form with every mask character as ``*`` (cached)."""
    key = ("masked_compact",)
    if key not in c._cache:
        import pyarrow.compute as pc

        c._cache[key] = pc.replace_substring_regex(c.compact, "[＊×●]", "*")
    return c._cache[key]


def k_masked_id(c: ColumnView) -> Masks:
    """18 characters of digits and ``*``: the visible province (and region, when all six
    digits show) is issued, a visible birth date is real, and at least six digits show."""
    n = len(c)
    shape = c.match("compact", rf"^[0-9{MASK_CHARS}]{{17}}[0-9X{MASK_CHARS}]$") & c.match(
        "compact", _ANY_MASK
    )
    valid = np.zeros(n, dtype=bool)
    if shape.any():
        idx, sub = take_where(_masked_compact(c), shape)
        # multi-byte mask characters were replaced: every row is now 18 ASCII bytes
        b = fixed_width(sub, 18)
        seen = b != ord("*")
        d = np.where(seen, b.astype(np.int32) - 48, 0)
        d[:, 17] = np.where(b[:, 17] == ord("X"), 10, d[:, 17])
        ok = seen[:, :2].all(axis=1) & _PROVINCES[d[:, 0] * 10 + d[:, 1]]
        ok &= seen.sum(axis=1) >= 6
        region = (d[:, :6] * np.array([100000, 10000, 1000, 100, 10, 1])).sum(axis=1)
        full_region = seen[:, :6].all(axis=1)
        ok &= ~full_region | _regionlut()[np.clip(region, 0, 999_999)]
        year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
        ok &= ~seen[:, 6:10].all(axis=1) | ((year >= 1900) & (year <= c.today.year))
        month, day = d[:, 10] * 10 + d[:, 11], d[:, 12] * 10 + d[:, 13]
        ok &= ~seen[:, 10:12].all(axis=1) | ((month >= 1) & (month <= 12))
        ok &= ~seen[:, 12:14].all(axis=1) | ((day >= 1) & (day <= 31))
        valid[idx] = ok
    return shape, valid


_MOBILE3 = r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])"


def _masked_regex(form: str, shape: str, valid: str):
    def kernel(c: ColumnView) -> Masks:
        s = c.match(form, shape) & c.match(form, _ANY_MASK)
        return s, s & c.match(form, valid)

    return kernel


# 138****5678, +86 138 **** 5678, 1381234****
k_masked_mobile = _masked_regex(
    "compact",
    rf"^(?:\+?86)?1\d[0-9{MASK_CHARS}]{{9}}$",
    rf"^(?:\+?86)?{_MOBILE3}\d{{0,4}}{_M}{{3,8}}\d{{0,4}}$",
)
# 622202******1234, 6222 **** **** 1234: a visible BIN, a visible tail
k_masked_bank = _masked_regex(
    "compact",
    rf"^\d{{4,}}[0-9{MASK_CHARS}]{{8,}}\d{{2,}}$",
    rf"^(?:62|60|4|5[1-5]|35|9)\d{{2,8}}{_M}{{4,}}\d{{2,6}}$",
)
# 0571-8***6666
k_masked_landline = _masked_regex(
    "compact",
    rf"^0\d{{2,3}}[0-9{MASK_CHARS}]{{7,8}}$",
    rf"^0(?:10|2\d|[3-9]\d{{2}})\d{{0,4}}{_M}{{2,6}}\d{{0,4}}$",
)
k_masked_email = _masked_regex(
    "trim",
    r"@",
    rf"^[A-Za-z0-9._%+\-]*{_M}+[A-Za-z0-9._%+\-{MASK_CHARS}]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
    r"\.[A-Za-z]{2,}$",
)


def masked_plate(province_chars: str):
    return _masked_regex(
        "compact",
        rf"^[{province_chars}][A-Z][A-Z0-9{MASK_CHARS}]{{5,6}}$",
        rf"^[{province_chars}][A-Z](?:[A-Z0-9]{{0,4}}{_M}{{1,5}}[A-Z0-9]{{0,4}})$",
    )


def masked_name(surname: str):
    """张*明, 张**, 张*, 欧阳**: a surname and masked given-name characters."""
    pattern = rf"^{surname}(?:{_M}{{1,3}}|{_M}\p{{Han}}|\p{{Han}}{_M}{{1,2}})$"
    return _masked_regex("compact", pattern, pattern)


# 浙江省杭州市西湖区****, 北京市朝阳区***路**号: the address is masked after a division.
MASKED_ADDRESS = (
    rf"^\p{{Han}}{{2,12}}(?:省|自治区|市|区|县|旗|州|盟|區|縣)\p{{Han}}{{0,12}}?{_M}{{2,}}"
    rf"(?:\p{{Han}}|\d|{_M})*$"
)
k_masked_address = _masked_regex("compact", MASKED_ADDRESS, MASKED_ADDRESS)
