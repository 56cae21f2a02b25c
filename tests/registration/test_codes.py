"""Registration codes carry an ISO 7064 MOD 37,36 check character (GB/T 17710)."""

from __future__ import annotations

import pytest

from gongshu.registration.codes import ALPHABET, check_char, is_valid, make_code


def test_the_published_iso_7064_example_gives_its_check_character() -> None:
    # ISO 7064 MOD 37,36 reference value (as in python-stdnum's iso7064.mod_37_36).
    assert check_char("A12425GABC1234002") == "M"


def test_a_made_code_validates_and_reads_as_designed() -> None:
    code = make_code("360000", 2026, "product", 7)
    assert code.startswith("GS-360000-2026-P00007-")
    assert is_valid(code) and is_valid(code.lower())


@pytest.mark.parametrize("position", range(23))
def test_every_single_character_error_is_caught(position: int) -> None:
    code = make_code("360000", 2026, "resource", 123)
    chars = [c for c in code]
    if chars[position] == "-":
        return
    for replacement in ALPHABET:
        if replacement == chars[position]:
            continue
        wrong = "".join(chars[:position] + [replacement] + chars[position + 1 :])
        assert not is_valid(wrong), wrong


def test_adjacent_transpositions_are_caught() -> None:
    code = make_code("361000", 2026, "product", 4821)
    chars = list(code.replace("-", ""))
    for i in range(len(chars) - 2):
        if chars[i] == chars[i + 1]:
            continue
        swapped = chars[:]
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        body = "".join(swapped)
        wrong = f"{body[:2]}-{body[2:8]}-{body[8:12]}-{body[12:18]}-{body[18]}"
        assert not is_valid(wrong), wrong


def test_malformed_codes_are_not_valid() -> None:
    assert not is_valid("")
    assert not is_valid("GS-360000-2026-X00001-A")
    assert not is_valid("GS-36000-2026-P00001-A")
