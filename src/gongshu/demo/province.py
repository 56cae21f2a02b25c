"""The deterministic demo province: 江西省 with two cities and four districts.

``build_province`` returns plain records (regions, organizations, users,
catalog entries); ``entry_rows`` streams an entry's data as Arrow batches.
Nothing here touches the database: the demo loader feeds these records to
the services, so the demo goes through the same rules as real use.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pyarrow as pa

from gongshu.demo.builders import BUILDERS, Columns
from gongshu.demo.catalog import province_entries
from gongshu.demo.catalog_local import local_entries
from gongshu.demo.model import DemoEntry, DemoField, DemoOrg, DemoProvince, DemoRegion, DemoUser
from gongshu.demo.synth import (
    COUNTY_CODES,
    Ctx,
    dates,
    decimals,
    join,
    padded,
    rng_for,
)
from gongshu.demo.universes import COMPANY_COUNT, POPULATION, companies, people
from gongshu.errors import InvalidInput

DEMO_PASSWORD = "gongshu-demo"
GENERIC_FROM = date(2015, 1, 1)

REGIONS = (
    DemoRegion("360000", "江西省", "province", None),
    DemoRegion("360100", "南昌市", "city", "360000"),
    DemoRegion("360102", "东湖区", "county", "360100"),
    DemoRegion("360103", "西湖区", "county", "360100"),
    DemoRegion("360700", "赣州市", "city", "360000"),
    DemoRegion("360702", "章贡区", "county", "360700"),
    DemoRegion("360703", "南康区", "county", "360700"),
)

# CAT-2, CAT-6: every region has a data authority, so an entry compiled at any
# tier can be reviewed there and passed up to the province.
ORGS = (
    DemoOrg("sjj", "江西省数据局", "data_authority", "360000"),
    DemoOrg("nc_sjj", "南昌市数据局", "data_authority", "360100"),
    DemoOrg("gz_sjj", "赣州市数据局", "data_authority", "360700"),
    DemoOrg("dh_sjj", "南昌市东湖区数据局", "data_authority", "360102"),
    DemoOrg("xh_sjj", "南昌市西湖区数据局", "data_authority", "360103"),
    DemoOrg("zg_sjj", "赣州市章贡区数据局", "data_authority", "360702"),
    DemoOrg("nk_sjj", "赣州市南康区数据局", "data_authority", "360703"),
    DemoOrg("gat", "江西省公安厅", "agency", "360000"),
    DemoOrg("mzt", "江西省民政厅", "agency", "360000"),
    DemoOrg("rst", "江西省人力资源和社会保障厅", "agency", "360000"),
    DemoOrg("scj", "江西省市场监督管理局", "agency", "360000"),
    DemoOrg("wjw", "江西省卫生健康委员会", "agency", "360000"),
    DemoOrg("jtt", "江西省交通运输厅", "agency", "360000"),
    DemoOrg("zrt", "江西省自然资源厅", "agency", "360000"),
    DemoOrg("jyt", "江西省教育厅", "agency", "360000"),
    DemoOrg("nc_wjw", "南昌市卫生健康委员会", "agency", "360100"),
    DemoOrg("nc_mzj", "南昌市民政局", "agency", "360100"),
    DemoOrg("nc_jtj", "南昌市交通运输局", "agency", "360100"),
    DemoOrg("nc_scj", "南昌市市场监督管理局", "agency", "360100"),
    DemoOrg("gz_sthjj", "赣州市生态环境局", "agency", "360700"),
    DemoOrg("gz_scj", "赣州市市场监督管理局", "agency", "360700"),
    DemoOrg("gz_rsj", "赣州市人力资源和社会保障局", "agency", "360700"),
    DemoOrg("dh_gafj", "南昌市公安局东湖分局", "agency", "360102"),
    DemoOrg("xh_scj", "南昌市西湖区市场监督管理局", "agency", "360103"),
    DemoOrg("zg_wjw", "赣州市章贡区卫生健康委员会", "agency", "360702"),
    DemoOrg("zg_zrzyj", "赣州市章贡区自然资源局", "agency", "360702"),
    DemoOrg("nk_jytyj", "赣州市南康区教育体育局", "agency", "360703"),
    DemoOrg("ent", "南昌洪城数智科技有限公司", "enterprise", "360100"),
    DemoOrg("op", "江西省公共数据运营有限公司", "operator", "360000"),
    DemoOrg("aud", "江西中正信数据安全审计有限公司", "auditor", "360100"),
    DemoOrg("reg", "江西省互联网信息办公室", "regulator", "360000"),
    # A vertical system registered at the province: its data goes down (AGG-7).
    DemoOrg("sw", "国家税务总局江西省税务局", "vertical", "360000"),
)

# (username, full name, org key, roles). One account per role, a reviewer for
# every data authority and a clerk for every agency.
_USERS = (
    ("admin", "陈志强", "sjj", ("admin",)),
    ("reviewer", "刘芳", "sjj", ("reviewer",)),
    ("reviewer_nc", "张伟", "nc_sjj", ("reviewer",)),
    ("reviewer_gz", "黄丽华", "gz_sjj", ("reviewer",)),
    ("reviewer_dh", "胡建平", "dh_sjj", ("reviewer",)),
    ("reviewer_xh", "熊婷", "xh_sjj", ("reviewer",)),
    ("reviewer_zg", "钟国庆", "zg_sjj", ("reviewer",)),
    ("reviewer_nk", "谢慧敏", "nk_sjj", ("reviewer",)),
    ("clerk", "李明", "gat", ("clerk",)),
    ("clerk_nc", "王静", "nc_wjw", ("clerk",)),
    ("clerk_zg", "赖小春", "zg_wjw", ("clerk",)),
    ("operator", "周涛", "op", ("operator",)),
    ("auditor", "吴敏", "aud", ("auditor",)),
    ("regulator", "徐海燕", "reg", ("regulator",)),
    ("enterprise", "郭婷", "ent", ("enterprise",)),
    ("public", "钟晓燕", None, ("public",)),
)
_CLERK_NAMES = (
    "罗军",
    "邓丽",
    "万志刚",
    "杨帆",
    "朱红梅",
    "曾强",
    "彭雪",
    "肖勇",
    "涂佳",
    "程亮",
    "袁媛",
    "邹斌",
    "蔡静",
    "付磊",
    "何琳",
    "宋阳",
    "叶青",
    "温晓东",
)


def _users() -> tuple[DemoUser, ...]:
    users = [DemoUser(u, DEMO_PASSWORD, n, o, r) for u, n, o, r in _USERS]
    have_clerk = {u.org_key for u in users if "clerk" in u.roles}
    names = iter(_CLERK_NAMES)
    for org in ORGS:
        if org.kind == "agency" and org.key not in have_clerk:
            users.append(
                DemoUser(f"clerk_{org.key}", DEMO_PASSWORD, next(names), org.key, ("clerk",))
            )
    return tuple(users)


def build_province(seed: int = 2026) -> DemoProvince:
    """The demo province's regions, organizations, users and catalog entries.

    The records do not depend on ``seed`` (it only drives the data rows); it is
    accepted so callers pass one seed to everything.
    """
    orgs = {o.key: o for o in ORGS}
    return DemoProvince(
        regions=REGIONS,
        orgs=ORGS,
        users=_users(),
        entries=province_entries(orgs) + local_entries(orgs),
    )


# ---------------------------------------------------------------- rows


def entry_rows(
    entry: DemoEntry, *, seed: int = 2026, limit: int | None = None, batch_rows: int = 10000
) -> Iterator[pa.RecordBatch]:
    """Stream ``entry``'s rows (at most ``limit``) as batches of ``batch_rows``.

    Same entry, seed, limit and batch size give byte-identical batches; a
    smaller ``limit`` gives a prefix of the full data. Columns are the entry's
    field names, typed by field type (string, int64, decimal128, date32, bool,
    timestamp). Identifier fields always pass the GB 11643 / GB 32100 /
    GB/T 2260 checks.
    """
    if batch_rows < 1:
        raise InvalidInput(f"每批行数必须为正整数：{batch_rows}")
    if limit is not None and limit < 0:
        raise InvalidInput(f"行数上限不能为负数：{limit}")
    total = entry.rows if limit is None else min(limit, entry.rows)
    build = BUILDERS.get(entry.key)
    for batch_no, start in enumerate(range(0, total, batch_rows)):
        # Draw the whole batch even when ``limit`` cuts it, so a limit is a true prefix.
        ctx = Ctx(
            seed, start, min(batch_rows, entry.rows - start), rng_for(seed, entry.key, batch_no)
        )
        cols: Columns = build(ctx) if build is not None else {}
        arrays = [
            _typed(cols[f.name] if f.name in cols else _generic(ctx, f), f) for f in entry.fields
        ]
        batch = pa.RecordBatch.from_arrays(arrays, names=[f.name for f in entry.fields])
        yield batch.slice(0, min(batch_rows, total - start))


_ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "datetime": pa.timestamp("s", tz="UTC"),
}


def _typed(values: pa.Array | np.ndarray, field: DemoField) -> pa.Array:
    arr = values if isinstance(values, pa.Array) else pa.array(values)
    if field.type == "decimal":
        return arr if pa.types.is_decimal(arr.type) else arr.cast(pa.float64())
    return arr.cast(_ARROW_TYPES[field.type])


def _generic(ctx: Ctx, field: DemoField) -> pa.Array | np.ndarray:
    """Plausible values for a field no builder knows (an entry edited by hand)."""
    if field.kind == "resident_id":
        return people(ctx.seed, POPULATION, ctx.pick(POPULATION.size)).ids
    if field.kind == "uscc":
        return companies(ctx.seed, ctx.pick(COMPANY_COUNT)).uscc
    if field.kind == "region_code":
        return ctx.choice(COUNTY_CODES)
    if field.type == "integer":
        return ctx.ints(0, 1000)
    if field.type == "decimal":
        return decimals(ctx.lognormal_cents(100.0, 1.0))
    if field.type == "date":
        return dates(ctx.days(GENERIC_FROM))
    if field.type == "datetime":
        return pa.array(
            ctx.days(GENERIC_FROM) * 86400 + ctx.ints(0, 86399), pa.timestamp("s", tz="UTC")
        )
    if field.type == "boolean":
        return pa.array(ctx.rng.random(ctx.n) < 0.5)
    return join(field.name, padded(ctx.rows + 1, 6))


def total_rows(province: DemoProvince) -> int:
    return sum(e.rows for e in province.entries)
