"""Row builders for entries about organizations, licences, places and measurements."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.demo.synth import (
    BRANDS,
    COUNTY_CODES,
    COUNTY_FULL_NAMES,
    REFERENCE_DATE,
    Ctx,
    dates,
    day_number,
    decimals,
    join,
    mix,
    org_bodies,
    padded,
    pools,
    salt_of,
    take,
    usccs,
)
from gongshu.demo.universes import (
    COMPANY_COUNT,
    GZ,
    NC,
    POPULATION,
    companies,
    counties_of,
    int_codes,
    people,
    some_adults,
    some_companies,
    transport_companies,
)

Columns = dict[str, pa.Array]


def qydj(c: Ctx) -> Columns:
    co = companies(c.seed, c.rows)
    rep = people(c.seed, POPULATION, mix(c.rows, salt_of(c.seed, "rep")) % POPULATION.size)
    kinds = (
        "有限责任公司（自然人投资或控股）",
        "有限责任公司（自然人独资）",
        "股份有限公司（非上市、自然人投资或控股）",
        "有限责任公司（国有独资）",
        "其他有限责任公司",
    )
    return {
        "统一社会信用代码": co.uscc,
        "企业名称": co.names,
        "企业类型": c.choice(kinds, [50, 25, 8, 2, 15]),
        "法定代表人": rep.names,
        "成立日期": dates(c.days(date(1995, 1, 1))),
        "注册资本": decimals(c.lognormal_cents(200.0, 1.3)),
        "住所": c.street_address(join(co.city, "市")),
        "登记机关区划代码": co.region_codes,
        "经营状态": c.choice(
            ("存续（在营、开业、在册）", "注销", "吊销，未注销", "迁出"), [86, 9, 3, 2]
        ),
    }


def dlys(c: Ctx) -> Columns:
    pool = transport_companies(c.seed, COMPANY_COUNT)
    co = companies(c.seed, pool[c.pick(len(pool))])
    issued = c.days(date(2015, 1, 1))
    scopes = (
        "道路普通货物运输",
        "道路旅客运输",
        "道路危险货物运输（第3类）",
        "道路货物专用运输（集装箱）",
        "机动车维修",
    )
    return {
        "许可证号": join(co.region_codes, padded(c.rows + 1, 6)),
        "业户名称": co.names,
        "统一社会信用代码": co.uscc,
        "经营范围": c.choice(scopes, [50, 15, 5, 10, 20]),
        "核发日期": dates(issued),
        "有效期至": dates(issued + 4 * 365 + 1),
        "营运车辆数": np.minimum(c.rng.geometric(0.08, c.n), 500).astype(np.int64),
        "核发机关区划代码": co.region_codes,
    }


def xxml(c: Ctx) -> Columns:
    code, area = counties_of(c, COUNTY_CODES)
    kinds = ("小学", "初级中学", "高级中学", "九年一贯制学校", "幼儿园", "中等职业学校")
    t = c.pick(len(kinds), [35, 15, 6, 8, 32, 4])
    st = pools(c.seed).streets
    students = np.maximum((c.rng.gamma(3.0, 1.0, c.n) * 300).astype(np.int64), 30)
    return {
        "学校标识码": join("31", padded(c.rows + 36000001, 8)),
        "学校名称": join(area, take(st, c.pick(len(st))), take(kinds, t)),
        "办学类型": take(kinds, t),
        "举办者": c.choice(("教育部门", "其他部门", "民办"), [80, 5, 15]),
        "学校地址": c.street_address(area),
        "在校学生数": students,
        "专任教师数": np.maximum(students // 15, 3),
        "行政区划代码": code,
        "统一社会信用代码": usccs("12", int_codes(code), org_bodies(c.seed, "schools", c.rows, 1)),
    }


def shzz(c: Ctx) -> Columns:
    regs = ("360000", "360100", "360700") + COUNTY_CODES
    names = ("江西省", "南昌市", "赣州市") + COUNTY_FULL_NAMES
    r = c.pick(len(regs), [10, 15, 15, 15, 15, 15, 15])
    t = c.pick(3, [45, 50, 5])
    prefix = ("51", "52", "53")
    parts = [
        usccs(prefix[i], int_codes(take(regs, r)), org_bodies(c.seed, "social", c.rows, 2))
        for i in range(3)
    ]
    code = pc.case_when(pc.make_struct(pa.array(t == 0), pa.array(t == 1)), *parts)
    return {
        "统一社会信用代码": code,
        "社会组织名称": join(
            take(names, r),
            take(BRANDS, c.pick(len(BRANDS))),
            take(("行业协会", "社会工作服务中心", "公益基金会"), t),
        ),
        "组织类型": take(("社会团体", "民办非企业单位", "基金会"), t),
        "业务主管单位": c.choice(("民政部门", "教育部门", "卫生健康部门", "商务部门", "无")),
        "登记日期": dates(c.days(date(1998, 1, 1))),
        "注册资金": decimals(c.lognormal_cents(30.0, 1.0, 3.0)),
        "法定代表人": some_adults(c).names,
        "住所": c.street_address(take(names, r)),
        "登记管理机关区划代码": take(regs, r),
    }


def yljg(c: Ctx) -> Columns:
    code, area = counties_of(c, NC)
    beds = c.ints(20, 500)
    return {
        "机构名称": join(
            area,
            take(BRANDS, c.pick(len(BRANDS))),
            c.choice(("养老院", "颐养中心", "老年公寓", "养老服务中心")),
        ),
        "统一社会信用代码": usccs(
            "52", int_codes(code), org_bodies(c.seed, "eldercare", c.rows, 3)
        ),
        "机构性质": c.choice(("公办", "公建民营", "民办"), [30, 20, 50]),
        "地址": c.street_address(area),
        "床位数": beds,
        "在住老人数": (beds * c.rng.uniform(0.3, 0.95, c.n)).astype(np.int64),
        "备案日期": dates(c.days(date(2013, 7, 1))),
        "行政区划代码": code,
        "联系电话": c.phones("0791"),
    }


def gjxl(c: Ctx) -> Columns:
    line, stop = c.rows // 25, c.rows % 25 + 1
    st = pools(c.seed).streets
    h = mix(line * 25 + stop, salt_of(c.seed, "stops"))
    lh = mix(line, salt_of(c.seed, "lines"))
    first = ("05:50", "06:00", "06:10", "06:20", "06:30")
    last = ("20:30", "21:00", "21:30", "22:00", "22:30")
    return {
        "线路编号": join("NC", padded(line + 1, 3)),
        "线路名称": join(pc.cast(pa.array(line + 1), pa.string()), "路"),
        "站序": stop,
        "站点名称": join(take(st, h % len(st)), "站"),
        "经度": decimals(115_850_000 + (h % 120_000) * 1, 6),
        "纬度": decimals(28_620_000 + (lh % 100_000) + stop * 400, 6),
        "首班时间": take(first, lh % 5),
        "末班时间": take(last, (lh // 5) % 5),
        "票价": decimals(np.where(lh % 10 < 7, 100, 200)),
        "空调车": pa.array(lh % 10 < 8),
    }


STATIONS = (
    ("赣州市环境监测站", "360702"),
    ("章贡区政府", "360702"),
    ("赣州市第一中学", "360702"),
    ("章贡区水西", "360702"),
    ("南康区环保局", "360703"),
    ("南康区家具城", "360703"),
    ("南康区蓉江", "360703"),
    ("赣州经开区", "360700"),
    ("赣州蓉江新区", "360700"),
    ("峰山国家森林公园", "360700"),
)
HOURS_FROM = day_number(REFERENCE_DATE) - 90


def _iaqi(value: np.ndarray, limits: tuple[float, ...]) -> np.ndarray:
    return np.interp(value, limits, (0, 50, 100, 150, 200, 300, 400, 500))


def kqzl(c: Ctx) -> Columns:
    s, hour = c.rows % len(STATIONS), c.rows // len(STATIONS)
    season = 1.0 + 0.4 * np.sin(hour / 24 / 30)
    pm25 = np.round(c.rng.gamma(2.5, 12.0, c.n) * season).astype(np.int64)
    pm10 = pm25 + np.round(c.rng.gamma(2.0, 10.0, c.n)).astype(np.int64)
    no2 = np.round(c.rng.gamma(3.0, 7.0, c.n)).astype(np.int64)
    o3 = np.round(c.rng.gamma(4.0, 18.0, c.n) * (1 + np.sin((hour % 24 - 9) / 24 * np.pi))).astype(
        np.int64
    )
    sub = np.vstack(
        [
            _iaqi(pm25, (0, 35, 75, 115, 150, 250, 350, 500)),
            _iaqi(pm10, (0, 50, 150, 250, 350, 420, 500, 600)),
            _iaqi(no2, (0, 100, 200, 700, 1200, 2340, 3090, 3840)),
            _iaqi(o3, (0, 160, 200, 300, 400, 800, 1000, 1200)),
        ]
    )
    aqi = np.ceil(sub.max(axis=0)).astype(np.int64)
    main = np.where(aqi <= 50, 4, sub.argmax(axis=0))
    return {
        "监测站点": take([x[0] for x in STATIONS], s),
        "监测日期": dates(HOURS_FROM + hour // 24),
        "监测小时": hour % 24,
        "空气质量指数": aqi,
        "细颗粒物浓度": pm25,
        "可吸入颗粒物浓度": pm10,
        "二氧化氮浓度": no2,
        "臭氧浓度": o3,
        "首要污染物": take(("PM2.5", "PM10", "NO2", "O3", "—"), main),
        "行政区划代码": take([x[1] for x in STATIONS], s),
    }


SHOPS = (
    ("便利店", "日用百货、预包装食品零售"),
    ("小吃店", "小餐饮"),
    ("五金店", "五金交电零售"),
    ("服装店", "服装鞋帽零售"),
    ("家具店", "家具制造、销售"),
    ("理发店", "理发服务"),
    ("水果店", "水果零售"),
    ("电器维修部", "家用电器修理"),
)


def gtgsh(c: Ctx) -> Columns:
    code, area = counties_of(c, GZ)
    k = c.pick(len(SHOPS), [20, 18, 8, 14, 20, 8, 8, 4])
    return {
        "统一社会信用代码": usccs("92", int_codes(code), org_bodies(c.seed, "soleprop", c.rows, 4)),
        "名称": join(
            pc.utf8_slice_codeunits(area, 3, 6),
            take(BRANDS, c.pick(len(BRANDS))),
            take([x[0] for x in SHOPS], k),
        ),
        "经营者": some_adults(c).names,
        "组成形式": c.choice(("个人经营", "家庭经营"), [90, 10]),
        "经营范围": take([x[1] for x in SHOPS], k),
        "成立日期": dates(c.days(date(2000, 1, 1))),
        "经营场所": c.street_address(area),
        "登记机关区划代码": code,
    }


def spjy(c: Ctx) -> Columns:
    kinds = (
        ("1", "食品销售经营者", "超市"),
        ("2", "餐饮服务经营者", "餐馆"),
        ("3", "单位食堂", "食堂"),
    )
    k = c.pick(3, [45, 45, 10])
    issued = c.days(date(2019, 1, 1))
    return {
        "许可证编号": join(
            "JY",
            take([x[0] for x in kinds], k),
            "360103",
            padded(c.rows + 1, 6),
            padded(c.ints(0, 9), 1),
        ),
        "经营者名称": join(
            "南昌市西湖区", take(BRANDS, c.pick(len(BRANDS))), take([x[2] for x in kinds], k)
        ),
        "统一社会信用代码": usccs(
            "92", np.full(c.n, 360103), org_bodies(c.seed, "food", c.rows, 5)
        ),
        "法定代表人": some_adults(c).names,
        "经营场所": c.street_address("南昌市西湖区"),
        "主体业态": take([x[1] for x in kinds], k),
        "经营项目": c.choice(
            ("预包装食品销售", "散装食品销售", "热食类食品制售", "冷食类食品制售", "自制饮品制售")
        ),
        "发证日期": dates(issued),
        "有效期至": dates(issued + 5 * 365 + 1),
        "行政区划代码": pa.array(["360103"] * c.n),
    }


def ghxk(c: Ctx) -> Columns:
    co = some_companies(c)
    st = pools(c.seed).streets
    issued = c.days(date(2018, 1, 1))
    year = issued.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    return {
        "许可证编号": join("地字第360702", padded(year, 4), padded(c.rows + 1, 5), "号"),
        "项目名称": join(
            take(st, c.pick(len(st))),
            c.choice(
                ("安置房项目", "商住小区项目", "小学新建工程", "道路改造工程", "产业园标准厂房项目")
            ),
        ),
        "建设单位": co.names,
        "统一社会信用代码": co.uscc,
        "用地位置": join(
            "赣州市章贡区", take(st, c.pick(len(st))), "与", take(st, c.pick(len(st))), "交汇处"
        ),
        "用地面积": decimals(c.lognormal_cents(18000.0, 0.8, 500.0)),
        "用地性质": c.choice(
            ("二类居住用地", "商业用地", "工业用地", "教育科研用地", "道路与交通设施用地")
        ),
        "核发日期": dates(issued),
        "行政区划代码": pa.array(["360702"] * c.n),
    }
