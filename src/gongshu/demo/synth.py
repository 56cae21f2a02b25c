"""Vectorized building blocks for the demo rows.

Everything is a pure function of (seed, entry, batch): numpy's PCG64 seeded
with those numbers, and Faker pools drawn once per seed. Identifiers are built
digit by digit as uint8 matrices so that every resident ID, USCC and region
code passes ``gongshu.identifiers`` (AGG-3), with no Python call per row.

People and enterprises live in fixed "universes": person ``j`` always has the
same ID, name and birth date, so the same people show up across entries and
the demo's tables can be joined.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.identifiers import ID_CHECK, ID_WEIGHTS, USCC_CHARS, USCC_WEIGHTS

EPOCH = date(1970, 1, 1)
# Generated event dates end here, before any plausible "today" of the demo.
REFERENCE_DATE = date(2026, 6, 30)
COUNTY_CODES = ("360102", "360103", "360702", "360703")
COUNTY_FULL_NAMES = ("南昌市东湖区", "南昌市西湖区", "赣州市章贡区", "赣州市南康区")
CITY_OF_CODE = {"3601": "南昌", "3607": "赣州"}
ETHNIC_GROUPS = ("汉族", "畲族", "回族", "苗族", "壮族", "满族", "土家族")
ETHNIC_WEIGHTS = (0.985, 0.006, 0.003, 0.002, 0.002, 0.001, 0.001)
ORG_CODE_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)  # GB 11714
BRAND_CHARS = "鑫华盛泰源达恒嘉瑞鸿昌隆兴丰宏信和锦汇新远安广德福金明中联创赣洪庐章"
INDUSTRIES = (
    "商贸",
    "建筑工程",
    "物流",
    "运输",
    "食品",
    "农业开发",
    "医药",
    "电子科技",
    "机械制造",
    "餐饮管理",
    "房地产开发",
    "稀土材料",
    "家具",
    "纺织服装",
    "信息技术",
    "文化传媒",
    "环保科技",
    "新能源",
    "汽车服务",
    "物业管理",
)
TRANSPORT_INDUSTRIES = (2, 3)  # indexes of 物流, 运输
COMPANY_FORMS = ("有限公司", "有限责任公司", "股份有限公司")
BRANDS = tuple(a + b for a in BRAND_CHARS for b in BRAND_CHARS if a != b)


def day_number(d: date) -> int:
    return (d - EPOCH).days


def salt_of(seed: int, label: str) -> int:
    """A stable 32-bit number for (seed, label); Python's hash() is salted per process."""
    return zlib.crc32(f"{seed}:{label}".encode())


def rng_for(seed: int, label: str, batch_no: int) -> np.random.Generator:
    return np.random.default_rng([seed, salt_of(seed, label), batch_no])


@lru_cache(maxsize=256)
def _multiplier(modulus: int, salt: int) -> int:
    a = modulus // 3 + salt % (modulus // 2) | 1
    while math.gcd(a, modulus) != 1:
        a += 2
    return a


def permute(idx: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """A bijection of [0, modulus) that looks random: distinct inputs, distinct outputs."""
    a = _multiplier(modulus, salt)
    return (idx.astype(np.int64) * a + salt) % modulus


def mix(idx: np.ndarray, salt: int) -> np.ndarray:
    """A cheap deterministic hash of row indexes to uint32, for per-entity picks."""
    x = (idx.astype(np.uint64) + np.uint64(salt)) * np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(29)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    return (x >> np.uint64(32)).astype(np.int64)


# ---------------------------------------------------------------- arrays


def fixed_strings(mat: np.ndarray) -> pa.Array:
    """An (n, w) matrix of ASCII codes as a string array of n values of width w."""
    n, w = mat.shape
    offsets = (np.arange(n + 1, dtype=np.int32) * w).astype(np.int32)
    data = np.ascontiguousarray(mat, dtype=np.uint8)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers, as (n, width) ASCII codes."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values.astype(np.int64)[:, None] // powers) % 10 + 48).astype(np.uint8)


def padded(values: np.ndarray, width: int) -> pa.Array:
    return fixed_strings(digits(values, width))


def join(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays and literals element-wise."""
    return pc.binary_join_element_wise(*parts, "")


def take(pool: Sequence[str] | pa.Array, idx: np.ndarray) -> pa.Array:
    arr = pool if isinstance(pool, pa.Array) else pa.array(list(pool), pa.string())
    return arr.take(pa.array(idx.astype(np.int64)))


def dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.date32())


def decimals(units: np.ndarray, scale: int = 2) -> pa.Array:
    """decimal128(18, scale) from integers in units of 10**-scale, built from buffers."""
    units = units.astype(np.int64)
    buf = np.empty((len(units), 2), dtype=np.int64)
    buf[:, 0] = units
    buf[:, 1] = np.where(units < 0, -1, 0)
    typ = pa.decimal128(18, scale)
    return pa.Array.from_buffers(typ, len(units), [None, pa.py_buffer(buf)])


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dt = days.astype("datetime64[D]")
    y = dt.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dt - dt.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, d


# ---------------------------------------------------------------- identifiers


def resident_ids(region: np.ndarray, birth_days: np.ndarray, seq: np.ndarray) -> pa.Array:
    """GB 11643 numbers: region (int), birth date (days since 1970), 3-digit sequence."""
    y, m, d = ymd(birth_days)
    body = np.hstack(
        [
            digits(region, 6),
            digits(y * 10000 + m * 100 + d, 8),
            digits(seq, 3),
        ]
    )
    total = ((body.astype(np.int64) - 48) * ID_WEIGHTS).sum(axis=1) % 11
    check = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)[total]
    return fixed_strings(np.hstack([body, check[:, None]]))


def org_bodies(seed: int, label: str, idx: np.ndarray, block: int) -> np.ndarray:
    """Eight-digit organization-code bodies, unique per index; each entity kind gets its
    own block of 10**7 so codes never collide across entries."""
    return block * 10**7 + permute(idx, 10**7, salt_of(seed, label))


def usccs(prefix: str, region: np.ndarray, org_body: np.ndarray) -> pa.Array:
    """GB 32100 codes: 2-character prefix, region, GB 11714 organization code, check."""
    n = len(region)
    org = digits(org_body, 8)
    org_total = ((org.astype(np.int64) - 48) * ORG_CODE_WEIGHTS).sum(axis=1) % 11
    org_check = np.frombuffer(b"0123456789X0", dtype=np.uint8)[(11 - org_total) % 11]
    head = np.tile(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, 1))
    body = np.hstack([head, digits(region, 6), org, org_check[:, None]])
    lut = np.full(256, -1, dtype=np.int64)
    for i, c in enumerate(USCC_CHARS):
        lut[ord(c)] = i
    total = (lut[body] * USCC_WEIGHTS).sum(axis=1) % 31
    check = np.frombuffer(USCC_CHARS.encode(), dtype=np.uint8)[(31 - total) % 31]
    return fixed_strings(np.hstack([body, check[:, None]]))


# ---------------------------------------------------------------- pools


LOCAL_STREETS = (
    "八一大道",
    "阳明路",
    "中山路",
    "胜利路",
    "象山北路",
    "抚河北路",
    "孺子路",
    "叠山路",
    "民德路",
    "船山路",
    "子固路",
    "永叔路",
    "榕门路",
    "洪城路",
    "井冈山大道",
    "北京西路",
    "红旗大道",
    "章江路",
    "文清路",
    "章贡路",
    "厚德路",
    "赣江路",
    "长征大道",
    "登峰大道",
    "东江源大道",
    "蓉江路",
    "唐江大道",
    "迎宾大道",
    "健康路",
    "沿江路",
)


@dataclass(frozen=True)
class Pools:
    surnames: pa.Array  # drawn with Faker's frequency weights, so common surnames repeat
    male_given: pa.Array
    female_given: pa.Array
    streets: pa.Array


@lru_cache(maxsize=4)
def pools(seed: int) -> Pools:
    """Faker ('zh_CN') surnames, given names and street names, drawn once per seed."""
    from faker import Faker

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    surnames = [fake.last_name() for _ in range(2000)]
    # zh_CN's name_male() ignores gender; its first_name_male()/female() do not.
    male = [fake.first_name_male() for _ in range(1000)]
    female = [fake.first_name_female() for _ in range(1000)]
    # Faker's "{surname}路" streets read oddly; keep its "{city}路" ones beside local names.
    faked = {fake.city_name() + fake.street_suffix() for _ in range(200)}
    streets = list(LOCAL_STREETS) + sorted(faked - set(LOCAL_STREETS))
    return Pools(pa.array(surnames), pa.array(male), pa.array(female), pa.array(streets))


# ---------------------------------------------------------------- batch context


@dataclass
class Ctx:
    """One batch of one entry: rows ``start .. start + n - 1``."""

    seed: int
    start: int
    n: int
    rng: np.random.Generator

    @cached_property
    def rows(self) -> np.ndarray:
        return np.arange(self.start, self.start + self.n, dtype=np.int64)

    def pick(self, size: int, p: Sequence[float] | None = None) -> np.ndarray:
        if p is None:
            return self.rng.integers(0, size, self.n)
        return self.rng.choice(size, self.n, p=np.asarray(p) / np.sum(p))

    def choice(self, values: Sequence[str], p: Sequence[float] | None = None) -> pa.Array:
        return take(values, self.pick(len(values), p))

    def ints(self, low: int, high: int) -> np.ndarray:
        """Uniform integers in [low, high]."""
        return self.rng.integers(low, high + 1, self.n)

    def days(self, first: date, last: date = REFERENCE_DATE) -> np.ndarray:
        """Uniform day numbers in [first, last]."""
        return self.rng.integers(day_number(first), day_number(last) + 1, self.n)

    def lognormal_cents(self, median: float, sigma: float, low: float = 0.01) -> np.ndarray:
        value = np.maximum(median * np.exp(self.rng.normal(0.0, sigma, self.n)), low)
        return np.round(value * 100).astype(np.int64)

    def street_address(self, area: pa.Array | str) -> pa.Array:
        st = pools(self.seed).streets
        return join(
            "江西省",
            area,
            take(st, self.pick(len(st))),
            pc.cast(pa.array(self.ints(1, 399)), pa.string()),
            "号",
        )

    def phones(self, area_code: str) -> pa.Array:
        return join(area_code + "-", padded(self.ints(80000000, 89999999), 8))
