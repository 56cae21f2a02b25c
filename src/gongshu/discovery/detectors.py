"""Vectorized detectors, one per entity rule (entities.md).

Every kernel takes a :class:`ColumnView` (one Arrow string column of one
batch, with its normalized forms computed once) and returns two numpy bool
arrays: ``shape`` (the value looks like the entity) and ``valid`` (it passes
the full rule: check digit, region, date, BIN, bounds...). No kernel calls
Python once per value; they are pyarrow.compute regexes (RE2) and numpy
arithmetic, so Spark's ``mapInArrow`` can run them unchanged later.

Detectors are listed in priority order: a value is attributed to the first
detector it is valid for, so an ID number that happens to pass a bank card's
Luhn check counts for CN_RESIDENT_ID only (entities.md, "Checksums alone do
not separate 18-character codes").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.discovery import masked, people, spans, vocab
from gongshu.discovery.checksums import (
    k_bank_card,
    k_imei,
    k_resident_id,
    k_uscc,
    k_vin,
    resident_id_birth,
)
from gongshu.discovery.columns import ColumnView, Masks, as_bool, fixed_width, take_where

__all__ = ["BY_KEY", "DETECTORS", "ColumnView", "Detector", "birth_ymd", "resident_id_birth"]


def _regex(form: str, pattern: str, shape_pattern: str | None = None) -> Callable:
    def kernel(c: ColumnView) -> Masks:
        valid = c.match(form, pattern)
        return (c.match(form, shape_pattern) | valid if shape_pattern else valid), valid

    return kernel


def _bounded(c: ColumnView, pattern: str, lo: float, hi: float) -> Masks:
    shape = c.match("trim", pattern)
    valid = shape.copy()
    if valid.any():
        idx, sub = take_where(c.trim, valid)
        x = pc.cast(sub, pa.float64()).to_numpy()
        valid[idx] = (x >= lo) & (x <= hi)
    return shape, valid


LNG_RANGE = (73.4, 135.1)
LAT_RANGE = (3.8, 53.6)
_DEC = r"^-?\d{1,3}\.\d{4,}$"


def k_geo_lng(c: ColumnView) -> Masks:
    return _bounded(c, _DEC, *LNG_RANGE)


def k_geo_lat(c: ColumnView) -> Masks:
    return _bounded(c, _DEC, *LAT_RANGE)


def k_geo_pair(c: ColumnView) -> Masks:
    num = r"-?\d{1,3}\.\d{4,}"
    shape = c.match("trim", rf"^[(\[]?\s*{num}\s*[,，;\s]\s*{num}\s*[)\]]?$")
    valid = shape.copy()
    if valid.any():
        idx, sub = take_where(c.trim, valid)
        parts = pc.extract_regex(sub, rf"(?P<a>{num})\s*[,，;\s]\s*(?P<b>{num})")
        a = pc.cast(pc.struct_field(parts, "a"), pa.float64()).to_numpy()
        b = pc.cast(pc.struct_field(parts, "b"), pa.float64()).to_numpy()

        def inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return (
                (x >= LNG_RANGE[0])
                & (x <= LNG_RANGE[1])
                & (y >= LAT_RANGE[0])
                & (y <= LAT_RANGE[1])
            )

        valid[idx] = inside(a, b) | inside(b, a)
    return shape, valid


def _isin(form: str, values: tuple[str, ...]) -> Callable:
    def kernel(c: ColumnView) -> Masks:
        m = c.isin(form, values)
        return m, m

    return kernel


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(sorted(set(words), key=len, reverse=True))


_M = r"(?:0?[1-9]|1[0-2])"
_D = r"(?:0?[1-9]|[12]\d|3[01])"
DATE_PATTERN = (
    rf"^(?:19|20)\d{{2}}(?:-{_M}(?:-{_D})?|/{_M}(?:/{_D})?|\.{_M}\.{_D}|年{_M}月(?:{_D}日)?"
    r"|(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))(?:[ T].*)?$"
)


def birth_ymd(c: ColumnView) -> tuple[np.ndarray, np.ndarray]:
    """(is a date, yyyymmdd with day 1 when only year-month is given). The common
    ten-character form (2026-11-22, 2026/11/22, 2026.11.22) is parsed in numpy."""
    key = ("birth_ymd",)
    if key in c._cache:
        return c._cache[key]
    n = len(c)
    ok = np.zeros(n, dtype=bool)
    ymd = np.zeros(n, dtype=np.int64)
    tbytes = pc.fill_null(pc.binary_length(c.trim), 0).to_numpy(zero_copy_only=False)
    ten = tbytes == 10
    if ten.any():
        idx, sub = take_where(c.trim, ten)
        b = fixed_width(sub, 10)
        d = b.astype(np.int32) - 48
        digits = ((d >= 0) & (d <= 9))[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
        sep = (b[:, 4] == b[:, 7]) & np.isin(b[:, 4], np.frombuffer(b"-/.", dtype=np.uint8))
        y = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
        m, day = d[:, 5] * 10 + d[:, 6], d[:, 8] * 10 + d[:, 9]
        good = digits & sep & (y >= 1900) & (y <= 2099) & (m >= 1) & (m <= 12)
        good &= (day >= 1) & (day <= 31)
        ok[idx], ymd[idx] = good, np.where(good, y * 10000 + m * 100 + day, 0)
    rest = c.nonnull & ~ten
    if rest.any():
        idx, sub = take_where(c.trim, rest)
        hit = as_bool(pc.match_substring_regex(sub, DATE_PATTERN))
        if hit.any():
            idx, sub = idx[hit], pc.filter(sub, pa.array(hit))
            parts = pc.extract_regex(sub, r"^(?P<y>\d{4})\D?(?P<m>\d{1,2})\D?(?P<d>\d{0,2})")
            y = pc.cast(pc.struct_field(parts, "y"), pa.int64()).to_numpy()
            m = pc.cast(pc.struct_field(parts, "m"), pa.int64()).to_numpy()
            d_raw = pc.struct_field(parts, "d")
            d = pc.cast(pc.if_else(pc.equal(d_raw, ""), "1", d_raw), pa.int64()).to_numpy()
            ok[idx], ymd[idx] = True, y * 10000 + m * 100 + d
    c._cache[key] = (ok, ymd)
    return ok, ymd


def k_date(c: ColumnView) -> Masks:
    ok, _ = birth_ymd(c)
    return ok, ok


_SURNAME = rf"(?:{_alt(vocab.COMPOUND_SURNAMES)}|[{vocab.SINGLE_SURNAMES}])"
NAME_PATTERN = rf"^{_SURNAME}\p{{Han}}{{1,2}}$"
# names of Uyghur, Kazakh ... people written with a middle dot: 阿依古丽·买买提
DOTTED_NAME_PATTERN = r"^\p{Han}{2,8}\s*[·•.．]\s*\p{Han}{2,10}$"
_NAMEISH = r"[^，,。；;：:！!？?\s]"  # an organization's name is not a sentence
ORG_PATTERN = (
    rf"^{_NAMEISH}{{2,40}}(?:{_alt(vocab.ORG_SUFFIXES_LONG)})$"
    rf"|^{_NAMEISH}{{4,40}}(?:{_alt(vocab.ORG_SUFFIXES_SHORT)})$"
)
ADDRESS_PATTERN = (
    r"\p{Han}{1,12}(?:省|自治区|自治區|市|特别行政区|特別行政區|县|縣|区|區|旗|镇|鎮|乡|鄉)"
    r".{0,40}?(?:路|街|道|巷|弄|号|號|村|组|組|座|室|栋|棟|幢|单元|單元|大厦|大廈|小区|小區|胡同|楼|樓)"
    r"|\p{Han}{2,12}(?:路|街|大道)\d+(?:号|號)"
)
DIAG_PATTERN = (
    rf"^(?:{_alt(vocab.DIAGNOSES)})$"
    rf"|^\p{{Han}}{{1,20}}(?:{_alt(vocab.DIAGNOSIS_ENDINGS)})$"
    rf"|^\p{{Han}}{{0,20}}(?:{_alt(vocab.DRUG_ENDINGS)})$"
)
MOBILE = r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}"
EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_H = r"[0-9A-Fa-f]{1,4}"
IP_PATTERN = (
    rf"^(?:{_OCTET}\.){{3}}{_OCTET}$|^(?:{_H}:){{7}}{_H}$"
    rf"|^(?:{_H}:){{1,7}}:$|^:(?::{_H}){{1,7}}$|^(?:{_H}:){{1,6}}(?::{_H}){{1,6}}$"
)
PLATE_PATTERN = (
    rf"^[{vocab.PROVINCE_CHARS}][A-HJ-NP-Z](?:[A-HJ-NP-Z0-9]{{4}}[A-HJ-NP-Z0-9挂学警港澳]"
    r"|[DF][A-HJ-NP-Z0-9]{5}|\d{5}[DF])$"
)
BIOMETRIC_PATTERN = (
    r"^<binary>$|^data:image/|^[A-Za-z0-9+/]{128,}={0,2}$|^[0-9A-Fa-f]{128,}$"
    r"|\.(?i:jpg|jpeg|png|bmp|wav|amr|wsq|tpl|fpt)$"
)


def k_person_name(c: ColumnView) -> Masks:
    """Han names (surname + one or two characters, not a landmark or a place: 黄鹤楼,
    西湖, 张家界), dotted minority names, Tibetan/Mongolian/Uyghur names, pinyin."""
    han = c.match("compact", NAME_PATTERN) & ~people.looks_like_place(c)
    m = (
        han
        | c.match("trim", DOTTED_NAME_PATTERN)
        | c.match("compact", people.MINORITY_NAME_PATTERN)
    )
    return m, m


def k_pinyin_name(c: ColumnView) -> Masks:
    m = people.pinyin_names(c)
    return m, m


def k_place(c: ColumnView) -> Masks:
    m = people.looks_like_place(c) & c.match("compact", r"^\p{Han}{2,12}$")
    return m, m


@dataclass(frozen=True)
class Detector:
    """One rule. ``kind``: strong (checksum/format: may be one of several codes
    in a column), weak (vocabulary/structure: decides a column alone), hint
    (counts only when the column's name suggests the entity), text (found
    inside free text: ``threshold`` is the share of rows needed), lookalike
    (evidence against an entity: place names against PERSON_NAME). ``masked``:
    the rule reads partly masked values (evidence flag ``masked: true``)."""

    key: str
    entity: str
    kind: str
    kernel: Callable[[ColumnView], Masks]
    threshold: float = 0.5
    masked: bool = False


DETECTORS: tuple[Detector, ...] = (
    Detector("CN_RESIDENT_ID", "CN_RESIDENT_ID", "strong", k_resident_id),
    Detector("CN_USCC", "CN_USCC", "strong", k_uscc),
    Detector(
        "PASSPORT", "PASSPORT", "strong", _regex("compact", r"^(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7})$")
    ),
    Detector(
        "HK_MACAO_PERMIT",
        "HK_MACAO_PERMIT",
        "strong",
        _regex("compact", r"^(?:C\d{8}|C[A-HJ-NP-Z]\d{7})$"),
    ),
    Detector("VEHICLE_VIN", "VEHICLE_VIN", "strong", k_vin),
    Detector("BANK_CARD", "BANK_CARD", "strong", k_bank_card),
    Detector("IMEI", "IMEI", "strong", k_imei),
    Detector(
        "CN_MOBILE",
        "CN_MOBILE",
        "strong",
        _regex("compact", rf"^(?:\+?86|0086)?{MOBILE}$", r"^(?:\+?86|0086)?[1-9]\d{10}$"),
    ),
    Detector(
        "CN_LANDLINE",
        "CN_LANDLINE",
        "strong",
        _regex(
            "compact", r"^(?:\+?86)?0(?:10|2\d|[3-9]\d{2})[2-9]\d{6,7}$", r"^(?:\+?86)?0\d{9,11}$"
        ),
    ),
    Detector("EMAIL", "EMAIL", "strong", _regex("trim", rf"^{EMAIL}$")),
    Detector(
        "MAC_ADDRESS",
        "MAC_ADDRESS",
        "strong",
        _regex("upper", r"^[0-9A-F]{2}(?:[:\-][0-9A-F]{2}){5}$|^[0-9A-F]{4}(?:\.[0-9A-F]{4}){2}$"),
    ),
    Detector("IP_ADDRESS", "IP_ADDRESS", "strong", _regex("trim", IP_PATTERN)),
    Detector("LICENSE_PLATE", "LICENSE_PLATE", "strong", _regex("compact", PLATE_PATTERN)),
    Detector("M_ID", "CN_RESIDENT_ID", "strong", masked.k_masked_id, masked=True),
    Detector("M_MOBILE", "CN_MOBILE", "strong", masked.k_masked_mobile, masked=True),
    Detector("M_BANK", "BANK_CARD", "strong", masked.k_masked_bank, masked=True),
    Detector("M_LANDLINE", "CN_LANDLINE", "strong", masked.k_masked_landline, masked=True),
    Detector("M_EMAIL", "EMAIL", "strong", masked.k_masked_email, masked=True),
    Detector(
        "M_PLATE",
        "LICENSE_PLATE",
        "strong",
        masked.masked_plate(vocab.PROVINCE_CHARS),
        masked=True,
    ),
    Detector("GEO_PAIR", "GEO_COORDINATE", "strong", k_geo_pair),
    Detector("GEO_LNG", "GEO_COORDINATE", "axis", k_geo_lng),
    Detector("GEO_LAT", "GEO_COORDINATE", "axis", k_geo_lat),
    Detector("ICD10", "MEDICAL", "weak", _regex("upper", r"^[A-Z]\d{2}\.[0-9A-Z]{1,4}$")),
    Detector("GENDER", "GENDER", "weak", _isin("upper", vocab.GENDER_VALUES), 0.6),
    Detector("ETHNICITY", "ETHNICITY", "weak", _isin("trim", vocab.ETHNIC_GROUPS), 0.6),
    Detector("EDUCATION", "EDUCATION", "weak", _isin("trim", vocab.EDUCATION_LEVELS), 0.6),
    Detector("RELIGION", "RELIGION", "weak", _isin("trim", vocab.RELIGIONS), 0.2),
    Detector("DIAGNOSIS", "MEDICAL", "weak", _regex("trim", DIAG_PATTERN)),
    Detector("ORG_NAME", "ORG_NAME", "weak", _regex("trim", ORG_PATTERN)),
    Detector("ADDRESS", "ADDRESS", "weak", _regex("trim", ADDRESS_PATTERN)),
    Detector("PERSON_NAME", "PERSON_NAME", "weak", k_person_name, 0.6),
    Detector("P_NAME", "PERSON_NAME", "weak", k_pinyin_name, 0.6),
    Detector("M_NAME", "PERSON_NAME", "weak", masked.masked_name(_SURNAME), 0.6, True),
    Detector("M_ADDRESS", "ADDRESS", "weak", masked.k_masked_address, masked=True),
    Detector("PLACE", "PLACE", "lookalike", k_place),
    Detector("DATE", "BIRTH_DATE", "hint", k_date),
    Detector("GENDER_CODE", "GENDER", "hint", _isin("trim", vocab.GENDER_CODES)),
    Detector(
        "RELIGION_ANY", "RELIGION", "hint", _isin("trim", vocab.RELIGIONS + vocab.RELIGION_NONE)
    ),
    Detector("CODE_2", "ETHNICITY", "hint", _regex("trim", r"^\d{1,2}$")),
    Detector("EDU_CODE", "EDUCATION", "hint", _regex("trim", r"^\d{1,2}$")),
    Detector("ICD3", "MEDICAL", "hint", _regex("upper", r"^[A-Z]\d{2}(?:\.?[0-9A-Z]{1,4})?$")),
    Detector(
        "ACCOUNT",
        "ACCOUNT_ID",
        "hint",
        _regex("trim", r"^[A-Za-z][A-Za-z0-9_.\-@]{2,31}$|^\d{5,12}$"),
    ),
    Detector("BIOMETRIC", "BIOMETRIC", "hint", _regex("trim", BIOMETRIC_PATTERN)),
    *(
        Detector(key, entity, "text", spans.code_kernel(key), 0.02, key.startswith("TM_"))
        for key, entity in (
            ("T_ID", "CN_RESIDENT_ID"),
            ("T_USCC", "CN_USCC"),
            ("T_PASSPORT", "PASSPORT"),
            ("T_PERMIT", "HK_MACAO_PERMIT"),
            ("T_VIN", "VEHICLE_VIN"),
            ("T_BANK", "BANK_CARD"),
            ("T_IMEI", "IMEI"),
            ("T_MOBILE", "CN_MOBILE"),
            ("T_LANDLINE", "CN_LANDLINE"),
            ("TM_ID", "CN_RESIDENT_ID"),
            ("TM_MOBILE", "CN_MOBILE"),
            ("TM_BANK", "BANK_CARD"),
        )
    ),
    *(
        Detector(key, entity, "text", spans.word_kernel(key), share)
        for key, entity, share in (
            ("T_PLATE", "LICENSE_PLATE", 0.02),
            ("T_EMAIL", "EMAIL", 0.02),
            ("T_IP", "IP_ADDRESS", 0.02),
            ("T_MAC", "MAC_ADDRESS", 0.02),
            ("T_NAME", "PERSON_NAME", 0.05),
            ("T_ADDRESS", "ADDRESS", 0.05),
            ("T_ORG", "ORG_NAME", 0.1),
            ("T_MEDICAL", "MEDICAL", 0.05),
            ("T_GENDER", "GENDER", 0.05),
            ("T_ETHNICITY", "ETHNICITY", 0.05),
            ("T_BIRTH", "BIRTH_DATE", 0.05),
            ("T_EDUCATION", "EDUCATION", 0.05),
            ("T_RELIGION", "RELIGION", 0.05),
            ("T_GEO", "GEO_COORDINATE", 0.05),
            ("T_ACCOUNT", "ACCOUNT_ID", 0.05),
        )
    ),
)
BY_KEY = {d.key: d for d in DETECTORS}
