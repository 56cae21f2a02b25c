"""GB 11643, GB 32100 and GB/T 2260 rules (AGG-3), scalar and vectorized agree."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from gongshu import identifiers as ids

TODAY = date(2026, 11, 22)


def make_id(prefix17: str) -> str:
    return prefix17 + ids.id_check_char(prefix17)


GOOD_ID = make_id("36010219900307123")
GOOD_USCC = "91360000" + "MA35FXXX0"  # 17 chars; check char appended below
GOOD_USCC = GOOD_USCC + ids.uscc_check_char(GOOD_USCC)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (GOOD_ID, True),
        (GOOD_ID.lower(), True),
        (f" {GOOD_ID} ", True),
        (GOOD_ID[:17] + ("1" if GOOD_ID[17] != "1" else "2"), False),  # wrong check digit
        (make_id("99990019900307123"), False),  # region never issued
        (make_id("36010219900230123"), False),  # 30 February
        (make_id("36010220990307123"), False),  # born in the future
        ("360102900307123", True),  # old 15-digit form
        ("360102901307123", False),  # month 13 in the old form
        ("", False),
        ("not an id", False),
    ],
)
def test_resident_id(value: str, ok: bool) -> None:
    assert ids.is_resident_id(value, today=TODAY) is ok
    assert bool(ids.resident_id_mask(pa.array([value]), today=TODAY)[0]) is ok


def test_resident_id_mask_handles_nulls_and_mixed_lengths() -> None:
    values = pa.array([GOOD_ID, None, "123", "360102900307123", GOOD_ID[:17] + "0"])
    mask = ids.resident_id_mask(values, today=TODAY)
    expected = [ids.is_resident_id(v or "", today=TODAY) for v in values.to_pylist()]
    assert mask.tolist() == expected == [True, False, False, True, GOOD_ID[17] == "0"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (GOOD_USCC, True),
        (GOOD_USCC.lower(), True),
        (GOOD_USCC[:17] + ("0" if GOOD_USCC[17] != "0" else "1"), False),
        (GOOD_USCC[:16] + "I" + GOOD_USCC[17], False),  # I is not in the GB 32100 alphabet
        ("91360000", False),
    ],
)
def test_uscc(value: str, ok: bool) -> None:
    assert ids.is_uscc(value) is ok
    assert bool(ids.uscc_mask(pa.array([value]))[0]) is ok


def test_region_codes_cover_the_three_tiers() -> None:
    assert ids.is_region_code("360000") and ids.region_tier("360000") == "province"
    assert ids.is_region_code("360100") and ids.region_tier("360100") == "city"
    assert ids.is_region_code("360702") and ids.region_tier("360702") == "county"
    assert not ids.is_region_code("369999")
    mask = ids.region_code_mask(pa.array(["360000", "369999", None, "abc"]))
    assert mask.tolist() == [True, False, False, False]


def test_vectorized_agrees_with_scalar_on_random_input() -> None:
    rng = np.random.default_rng(7)
    values = []
    for _ in range(2000):
        region = ["360102", "360702", "999999"][int(rng.integers(0, 3))]
        birth = f"{rng.integers(1930, 2030)}{rng.integers(1, 14):02d}{rng.integers(1, 32):02d}"
        seq = "".join(str(d) for d in rng.integers(0, 10, 3))
        values.append(region + birth + seq + ids.ID_CHECK[int(rng.integers(0, 11))])
    mask = ids.resident_id_mask(pa.array(values), today=TODAY)
    assert mask.tolist() == [ids.is_resident_id(v, today=TODAY) for v in values]
    assert 0 < mask.sum() < len(values)
