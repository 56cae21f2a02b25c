"""Generators of valid and noisy values for discovery tests (not the dev set)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
import pytest

from gongshu import identifiers as ids

TODAY = date(2026, 11, 22)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐許陳張劉黃鄭"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红梅雪峰"
COUNTIES = ["110101", "110105", "310104", "330106", "360102", "420106", "440305", "510107"]


class Gen:
    """Seeded value factory: every value passes its real rule unless named junk."""

    def __init__(self, seed: int = 7) -> None:
        self.r = random.Random(seed)

    def birth(self, lo: int = 1940, hi: int = 2005) -> date:
        start = date(lo, 1, 1)
        return start + timedelta(days=self.r.randrange((date(hi, 12, 31) - start).days))

    def resident_id(self, born: date | None = None) -> str:
        born = born or self.birth()
        first = f"{self.r.choice(COUNTIES)}{born:%Y%m%d}{self.r.randrange(1000):03d}"
        return first + ids.id_check_char(first)

    def old_id(self, born: date | None = None) -> str:
        born = born or self.birth(1940, 1999)
        return f"{self.r.choice(COUNTIES)}{born:%y%m%d}{self.r.randrange(1000):03d}"

    def name(self) -> str:
        return self.r.choice(SURNAMES) + "".join(self.r.choices(GIVEN, k=self.r.choice([1, 2])))

    def mobile(self) -> str:
        return (
            self.r.choice(["138", "139", "159", "186", "177", "199"])
            + f"{self.r.randrange(10**8):08d}"
        )

    def luhn_complete(self, body: str) -> str:
        for check in "0123456789":
            digits = [int(c) for c in body + check][::-1]
            total = sum(
                d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2)
                for i, d in enumerate(digits)
            )
            if total % 10 == 0:
                return body + check
        raise AssertionError("unreachable")

    def bank_card(self) -> str:
        body = "62" + "".join(self.r.choices("0123456789", k=self.r.choice([14, 16])))
        return self.luhn_complete(body)

    def imei(self) -> str:
        return self.luhn_complete("35" + "".join(self.r.choices("0123456789", k=12)))

    def vin(self) -> str:
        chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
        trans = {
            **{str(i): i for i in range(10)},
            **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
            **dict(zip("JKLMN", range(1, 6), strict=True)),
            "P": 7,
            "R": 9,
            **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
        }
        weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
        v = ["L"] + self.r.choices(chars, k=16)
        total = sum(trans[c] * w for c, w in zip(v, weights, strict=True)) % 11
        v[8] = "X" if total == 10 else str(total)
        return "".join(v)

    def uscc(self) -> str:
        body = (
            "91"
            + self.r.choice(COUNTIES)
            + "".join(self.r.choices("0123456789ABCDEFGHJKLMNPQRTUWXY", k=9))
        )
        return body + ids.uscc_check_char(body)

    def digits(self, n: int) -> str:
        return str(self.r.randrange(1, 10)) + "".join(self.r.choices("0123456789", k=n - 1))

    def maybe_null(self, value: str, p: float = 0.03) -> str | None:
        return None if self.r.random() < p else value


@pytest.fixture
def gen() -> Gen:
    return Gen()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(3)
