"""Row builders for entries about people: one record per resident, patient, pupil."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.demo.synth import (
    COUNTY_CODES,
    REFERENCE_DATE,
    Ctx,
    dates,
    day_number,
    decimals,
    join,
    mix,
    padded,
    pools,
    salt_of,
    take,
)
from gongshu.demo.universes import (
    CHILDREN,
    GZ,
    POPULATION,
    STUDENTS,
    counties_of,
    mobiles,
    people,
    some_adults,
    some_companies,
)

Columns = dict[str, pa.Array]


def hjrk(c: Ctx) -> Columns:
    p = people(c.seed, POPULATION, c.rows)
    return {
        "姓名": p.names,
        "公民身份号码": p.ids,
        "性别": p.sex,
        "出生日期": dates(p.birth_days),
        "民族": p.ethnic,
        "户籍地址": p.addresses,
        "行政区划代码": p.region_codes,
        "手机号码": mobiles(c.seed, POPULATION, c.rows),
    }


def sbcb(c: Ctx) -> Columns:
    p, co = some_adults(c), some_companies(c)
    kinds = ("企业职工基本养老保险", "失业保险", "工伤保险", "职工基本医疗保险", "生育保险")
    return {
        "公民身份号码": p.ids,
        "姓名": p.names,
        "险种": c.choice(kinds),
        "参保状态": c.choice(("正常参保", "暂停缴费", "终止参保"), [85, 10, 5]),
        "参保单位统一社会信用代码": co.uscc,
        "参保单位名称": co.names,
        "首次参保日期": dates(c.days(date(2000, 1, 1))),
        "月缴费基数": decimals(c.ints(4000, 25000) * 100),
        "参保地行政区划代码": p.region_codes,
    }


def bdcdj(c: Ctx) -> Columns:
    p = people(c.seed, POPULATION, c.pick(POPULATION.size))
    code, area = counties_of(c, COUNTY_CODES)
    year = pc.cast(pa.array(c.ints(2016, 2026)), pa.string())
    city = pc.utf8_slice_codeunits(area, 0, 2)
    unit = join(
        code,
        padded(c.ints(1, 30), 3),
        padded(c.ints(1, 999), 3),
        "GB",
        padded(c.ints(1, 99999), 5),
        "F",
        padded(c.rows + 1, 8),
    )
    return {
        "不动产单元号": unit,
        "不动产权证书号": join(
            "赣（", year, "）", city, "市不动产权第", padded(c.rows + 1, 7), "号"
        ),
        "权利人": p.names,
        "权利人证件号码": p.ids,
        "坐落": join(
            c.street_address(area),
            padded(c.ints(1, 30), 2),
            "栋",
            padded(c.ints(101, 3208), 4),
            "室",
        ),
        "建筑面积": decimals(c.lognormal_cents(98.0, 0.35, 20.0)),
        "规划用途": c.choice(("住宅", "商业", "办公", "工业", "车库"), [70, 10, 8, 4, 8]),
        "登记日期": dates(c.days(date(2016, 1, 1))),
        "行政区划代码": code,
    }


HOSPITALS = (
    ("南昌大学第一附属医院", "360102"),
    ("江西省人民医院", "360102"),
    ("南昌市第一医院", "360103"),
    ("南昌市第三医院", "360103"),
    ("南昌市洪都中医院", "360103"),
    ("东湖区豫章街道社区卫生服务中心", "360102"),
    ("西湖区朝阳洲街道社区卫生服务中心", "360103"),
)


def mzjz(c: Ctx) -> Columns:
    p = people(c.seed, POPULATION, c.pick(POPULATION.size))
    h = c.pick(len(HOSPITALS), [20, 20, 15, 10, 10, 12, 13])
    depts = (
        "内科",
        "外科",
        "儿科",
        "妇产科",
        "眼科",
        "耳鼻喉科",
        "口腔科",
        "皮肤科",
        "中医科",
        "急诊科",
    )
    dx = (
        "急性上呼吸道感染",
        "原发性高血压",
        "2型糖尿病",
        "慢性胃炎",
        "腰椎间盘突出症",
        "急性支气管炎",
        "龋病",
        "过敏性皮炎",
        "结膜炎",
        "高脂血症",
    )
    return {
        "就诊流水号": join("MZ", padded(c.rows + 1, 10)),
        "患者姓名": p.names,
        "公民身份号码": p.ids,
        "性别": p.sex,
        "就诊日期": dates(c.days(date(2025, 7, 1))),
        "就诊机构": take([x[0] for x in HOSPITALS], h),
        "就诊科室": c.choice(depts),
        "诊断名称": c.choice(dx),
        "医疗费用": decimals(c.lognormal_cents(180.0, 0.9, 5.0)),
        "机构所在地区划代码": take([x[1] for x in HOSPITALS], h),
    }


def jydj(c: Ctx) -> Columns:
    p, co = some_adults(c), some_companies(c)
    code, _ = counties_of(c, GZ)
    return {
        "公民身份号码": p.ids,
        "姓名": p.names,
        "就业单位名称": co.names,
        "就业单位统一社会信用代码": co.uscc,
        "就业形式": c.choice(("单位就业", "灵活就业", "公益性岗位"), [75, 22, 3]),
        "登记日期": dates(c.days(date(2018, 1, 1))),
        "劳动合同期限": take(
            pa.array([12, 24, 36, 60, 0], pa.int64()), c.pick(5, [15, 20, 35, 15, 15])
        ),
        "登记地行政区划代码": code,
    }


VACCINES = (
    "乙肝疫苗",
    "卡介苗",
    "脊灰灭活疫苗",
    "百白破疫苗",
    "麻腮风疫苗",
    "乙脑减毒活疫苗",
    "A群流脑多糖疫苗",
    "甲肝减毒活疫苗",
)


def ymjz(c: Ctx) -> Columns:
    p = people(c.seed, CHILDREN, c.pick(CHILDREN.size))
    span = np.minimum(p.birth_days + 1800, day_number(REFERENCE_DATE)) - p.birth_days
    when = p.birth_days + (c.rng.random(c.n) * (span + 1)).astype(np.int64)
    sites = (
        "章贡区疾病预防控制中心",
        "章贡区南外街道社区卫生服务中心",
        "章贡区解放街道社区卫生服务中心",
        "章贡区水东镇卫生院",
        "赣州市妇幼保健院",
    )
    makers = (
        "北京天坛生物制品股份有限公司",
        "华兰生物疫苗股份有限公司",
        "成都生物制品研究所有限责任公司",
        "长春长生生物科技有限责任公司",
        "北京科兴中维生物技术有限公司",
        "上海生物制品研究所有限责任公司",
    )
    return {
        "接种编号": join("YM", padded(c.rows + 1, 8)),
        "受种者姓名": p.names,
        "受种者公民身份号码": p.ids,
        "出生日期": dates(p.birth_days),
        "疫苗名称": c.choice(VACCINES),
        "剂次": c.ints(1, 4),
        "接种日期": dates(when),
        "接种单位": c.choice(sites),
        "生产企业": c.choice(makers),
        "疫苗批号": join(padded(c.ints(2022, 2026), 4), padded(c.ints(1, 9999), 4)),
    }


def jzz(c: Ctx) -> Columns:
    p = some_adults(c)
    issued = c.days(date(2020, 1, 1))
    return {
        "居住证编号": join("DH", padded(c.rows + 1, 8)),
        "姓名": p.names,
        "公民身份号码": p.ids,
        "性别": p.sex,
        "居住地址": c.street_address("南昌市东湖区"),
        "签发日期": dates(issued),
        "有效期至": dates(issued + 365),
        "行政区划代码": pa.array(["360102"] * c.n),
    }


GRADES = (
    "一年级",
    "二年级",
    "三年级",
    "四年级",
    "五年级",
    "六年级",
    "初一",
    "初二",
    "初三",
    "高一",
    "高二",
    "高三",
)


def xsxj(c: Ctx) -> Columns:
    p = people(c.seed, STUDENTS, c.rows)
    y = p.birth_days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    m = p.birth_days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1
    entry_year = y + 6 + (m >= 9)  # children born from September start a year later
    grade = np.clip(2025 - entry_year, 0, 11)
    september = ((entry_year - 1970) * 12 + 8).astype("datetime64[M]")
    entered = september.astype("datetime64[D]").astype(np.int64)
    st = pools(c.seed).streets
    school = mix(c.rows, salt_of(c.seed, "school")) % 40
    kind = np.where(grade < 6, "小学", "中学")
    return {
        "学籍号": join("G", p.ids),
        "姓名": p.names,
        "公民身份号码": p.ids,
        "性别": p.sex,
        "出生日期": dates(p.birth_days),
        "学校名称": join("赣州市南康区", take(st, school), pa.array(kind)),
        "年级": take(GRADES, grade),
        "入学日期": dates(entered),
        "行政区划代码": pa.array(["360703"] * c.n),
    }


def rkjc(c: Ctx) -> Columns:
    """南昌市民政局 collecting the household register again: the same people and data
    items as 户籍人口 (hjrk) but for the mobile on record, which only the police
    keep. Planted for the one-source check (AGG-2)."""
    columns = hjrk(c)
    del columns["手机号码"]
    return columns


# Rows of 高龄津贴发放名单 with a planted error, by row number % 50 (so a short demo
# still has each): the quality report must show each under its dimension (QUA-1).
PLANTED = {
    "completeness": (1, 2, 3),  # no name (90% < 95%)
    "mobile": (4,),  # not a mobile number
    "amount": (5,),  # negative amount
    "gender_code": (6,),  # not in the code set
    "duplicate": (7,),  # the previous row's person again
    "birth": (8,),  # birth date against the ID number
    "gender_id": (9,),  # gender against the ID number
}


def gljt(c: Ctx, *, planted: bool = True) -> Columns:
    p = people(c.seed, POPULATION, c.rows)
    pos = c.rows % 50
    names = np.array(p.names.to_pylist(), dtype=object)
    ids = np.array(p.ids.to_pylist(), dtype=object)
    sex = np.array(p.sex.to_pylist(), dtype=object)
    birth = np.asarray(p.birth_days).copy()
    phones = np.array([f"139{i % 100000000:08d}" for i in c.rows], dtype=object)
    cents = c.ints(100, 500) * 100
    if planted:
        names[np.isin(pos, PLANTED["completeness"])] = None
        phones[np.isin(pos, PLANTED["mobile"])] = "0791-123"
        cents[np.isin(pos, PLANTED["amount"])] = -5000
        sex[np.isin(pos, PLANTED["gender_code"])] = "未知"
        dup = np.flatnonzero(np.isin(pos, PLANTED["duplicate"]))
        ids[dup] = ids[np.maximum(dup - 1, 0)]
        sex[dup], birth[dup] = sex[np.maximum(dup - 1, 0)], birth[np.maximum(dup - 1, 0)]
        birth[np.isin(pos, PLANTED["birth"])] += 40
        flip = np.isin(pos, PLANTED["gender_id"])
        sex[flip] = np.where(sex[flip] == "男", "女", "男")
    return {
        "姓名": pa.array(names, pa.string()),
        "公民身份号码": pa.array(ids, pa.string()),
        "性别": pa.array(sex, pa.string()),
        "出生日期": dates(birth),
        "联系电话": pa.array(phones, pa.string()),
        "补贴金额": decimals(cents),
        "发放日期": dates(c.days(date(2025, 1, 1), date(2025, 12, 31))),
    }
