"""Who lives and trades in the demo province: fixed universes of people and
enterprises, so the same resident or company appears in many entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.demo.synth import (
    BRANDS,
    CITY_OF_CODE,
    COMPANY_FORMS,
    COUNTY_CODES,
    COUNTY_FULL_NAMES,
    ETHNIC_GROUPS,
    ETHNIC_WEIGHTS,
    INDUSTRIES,
    TRANSPORT_INDUSTRIES,
    Ctx,
    day_number,
    join,
    mix,
    org_bodies,
    padded,
    permute,
    pools,
    resident_ids,
    salt_of,
    take,
    usccs,
)


@dataclass(frozen=True)
class PersonUniverse:
    """People indexed 0..size-1. Sequence ranges never overlap between universes,
    so two universes never produce the same resident ID."""

    label: str
    size: int
    counties: tuple[str, ...]
    born_from: date
    born_to: date  # exclusive
    seq_from: int
    seq_to: int


@dataclass
class People:
    ids: pa.Array
    names: pa.Array
    sex: pa.Array  # 男 / 女
    birth_days: np.ndarray
    county: np.ndarray  # index into universe.counties
    region_codes: pa.Array
    addresses: pa.Array
    ethnic: pa.Array


def people(seed: int, universe: PersonUniverse, j: np.ndarray) -> People:
    """Persons ``j`` of ``universe``: the same j always gives the same person."""
    c = len(universe.counties)
    s = universe.seq_to - universe.seq_from
    d0, d1 = day_number(universe.born_from), day_number(universe.born_to)
    p = permute(j, c * s * (d1 - d0), salt_of(seed, universe.label))
    county = p % c
    seq = universe.seq_from + (p // c) % s
    birth = d0 + p // (c * s)
    codes = np.array([int(x) for x in universe.counties], dtype=np.int64)[county]
    male = seq % 2 == 1  # GB 11643: the 17th digit is odd for men
    pl = pools(seed)
    h = mix(j, salt_of(seed, universe.label + ":name"))
    g = mix(j, salt_of(seed, universe.label + ":given"))
    given = pc.if_else(
        pa.array(male),
        take(pl.male_given, g % len(pl.male_given)),
        take(pl.female_given, g % len(pl.female_given)),
    )
    names = join(take(pl.surnames, h % len(pl.surnames)), given)
    region_codes = padded(codes, 6)
    full = [COUNTY_FULL_NAMES[COUNTY_CODES.index(x)] for x in universe.counties]
    h2 = mix(j, salt_of(seed, universe.label + ":addr"))
    addresses = join(
        "江西省",
        take(full, county),
        take(pl.streets, h2 % len(pl.streets)),
        pc.cast(pa.array(h2 % 300 + 1), pa.string()),
        "号",
    )
    u = (h % 100000) / 100000.0
    ethnic_idx = np.searchsorted(np.cumsum(ETHNIC_WEIGHTS), u, side="right")
    return People(
        ids=resident_ids(codes, birth, seq),
        names=names,
        sex=pc.if_else(pa.array(male), "男", "女"),
        birth_days=birth,
        county=county,
        region_codes=region_codes,
        addresses=addresses,
        ethnic=take(ETHNIC_GROUPS, np.minimum(ethnic_idx, len(ETHNIC_GROUPS) - 1)),
    )


MOBILE_PREFIXES = (
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "158",
    "159",
    "177",
    "180",
    "181",
    "186",
    "187",
    "188",
    "189",
    "191",
    "199",
)


def mobiles(seed: int, universe: PersonUniverse, j: np.ndarray) -> pa.Array:
    """The mobile number each person ``j`` keeps on record (the same j, the same number)."""
    h = mix(j, salt_of(seed, universe.label + ":mobile"))
    return join(take(MOBILE_PREFIXES, h % len(MOBILE_PREFIXES)), padded((h // 97) % 10**8, 8))


COMPANY_REGIONS = ("360100", "360102", "360103", "360700", "360702", "360703")


@dataclass
class Companies:
    uscc: pa.Array
    names: pa.Array
    industry: np.ndarray
    region_codes: pa.Array
    city: pa.Array


def companies(seed: int, k: np.ndarray) -> Companies:
    """Enterprise ``k`` of the demo province: unique USCC and unique name."""
    salt = salt_of(seed, "companies")
    region_idx = mix(k, salt) % len(COMPANY_REGIONS)
    region = np.array([int(r) for r in COMPANY_REGIONS], dtype=np.int64)[region_idx]
    body = org_bodies(seed, "companies", k, 0)
    space = len(BRANDS) * len(INDUSTRIES) * len(COMPANY_FORMS)
    q = permute(k, space, salt ^ 0x5A5A)
    brand = q % len(BRANDS)
    industry = (q // len(BRANDS)) % len(INDUSTRIES)
    form = q // (len(BRANDS) * len(INDUSTRIES))
    cities = [CITY_OF_CODE[r[:4]] for r in COMPANY_REGIONS]
    city = take(cities, region_idx)
    return Companies(
        uscc=usccs("91", region, body),
        names=join(
            city, take(BRANDS, brand), take(INDUSTRIES, industry), take(COMPANY_FORMS, form)
        ),
        industry=industry,
        region_codes=padded(region, 6),
        city=city,
    )


@lru_cache(maxsize=4)
def transport_companies(seed: int, universe_size: int) -> np.ndarray:
    """Indexes of the enterprises whose trade is transport or logistics."""
    k = np.arange(universe_size)
    ind = companies(seed, k).industry
    return k[np.isin(ind, TRANSPORT_INDUSTRIES)]


POPULATION = PersonUniverse(
    "population", 30000, COUNTY_CODES, date(1935, 1, 1), date(2025, 1, 1), 0, 600
)
STUDENTS = PersonUniverse(
    "students", 8000, ("360703",), date(2008, 9, 1), date(2019, 9, 1), 600, 800
)
CHILDREN = PersonUniverse(
    "children", 4000, ("360702",), date(2019, 1, 1), date(2026, 1, 1), 800, 1000
)
COMPANY_COUNT = 20000
NC = ("360102", "360103")
GZ = ("360702", "360703")


@lru_cache(maxsize=4)
def _adults(seed: int) -> np.ndarray:
    """People of working age (born 1961 to mid-2008) in the population."""
    j = np.arange(POPULATION.size)
    born = people(seed, POPULATION, j).birth_days
    ok = (born >= day_number(date(1961, 1, 1))) & (born <= day_number(date(2008, 6, 30)))
    return j[ok]


def some_adults(c: Ctx):
    pool = _adults(c.seed)
    return people(c.seed, POPULATION, pool[c.pick(len(pool))])


def some_companies(c: Ctx):
    return companies(c.seed, c.pick(COMPANY_COUNT))


def counties_of(c: Ctx, codes: tuple[str, ...]) -> tuple[pa.Array, pa.Array]:
    """Random counties among ``codes``: (code strings, full names)."""
    idx = c.pick(len(codes))
    names = [COUNTY_FULL_NAMES[COUNTY_CODES.index(x)] for x in codes]
    return take(codes, idx), take(names, idx)


def int_codes(arr: pa.Array) -> np.ndarray:
    return pc.cast(arr, pa.int64()).to_numpy()
