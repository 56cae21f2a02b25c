"""Registration codes with a check character (ISO 7064 MOD 37,36; GB/T 17710-2008).

A code reads ``GS-360000-2026-P00001-K``: the platform prefix, the GB/T 2260
code of the registering authority's region, the year, R (data resource) or
P (data product) with a running number, and a check character computed over
every letter and digit before it by the hybrid system MOD 37,36. The hybrid
system catches every single-character error and every adjacent transposition,
so a code typed wrongly on the public registration page is told apart from a
code that was never issued.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
M = len(ALPHABET)  # 36
PREFIX = "GS"
KIND_LETTERS = {"resource": "R", "product": "P"}
PATTERN = re.compile(r"^GS-(\d{6})-(\d{4})-([RP])(\d{5})-([0-9A-Z])$")


def _values(body: str) -> list[int]:
    chars = [c for c in body.upper() if c != "-"]
    bad = [c for c in chars if c not in ALPHABET]
    if bad:
        raise ValueError(f"登记编码只能含数字和大写字母：{''.join(bad)}")
    return [ALPHABET.index(c) for c in chars]


def check_char(body: str) -> str:
    """The MOD 37,36 check character for ``body`` (hyphens ignored)."""
    p = M
    for v in _values(body):
        s = (p + v) % M or M
        p = (2 * s) % (M + 1)
    return ALPHABET[(M + 1 - p) % M]


def is_valid(code: str) -> bool:
    """True if ``code`` has the registration-code shape and its check character holds."""
    code = (code or "").strip().upper()
    if not PATTERN.match(code):
        return False
    body, check = code[:-2], code[-1]
    return check_char(body) == check


def make_code(region_code: str, year: int, kind: str, seq: int) -> str:
    body = f"{PREFIX}-{region_code}-{year:04d}-{KIND_LETTERS[kind]}{seq:05d}"
    return f"{body}-{check_char(body)}"
