"""The demo province's provincial catalog entries (CAT-3, CAT-4), and the terms
and helpers the city and county entries in ``catalog_local`` share.

Every sharing attribute and every opening attribute appears, at every tier.
Rows per entry are fixed so that loading the whole province stays fast.
"""

from __future__ import annotations

from gongshu.demo.model import DemoEntry, DemoField, DemoOrg
from gongshu.demo.universes import COMPANY_COUNT, POPULATION
from gongshu.identifiers import region_tier

F = DemoField

# SHR-3: conditional sharing states who may apply and for what.
SHARE_PERSONAL = (
    "仅向依法履行职责的政务部门共享。申请时须说明事由、依据、用途和具体应用场景，"
    "按最小必要原则提供，不得提供给第三方或用于其他目的。"
)
SHARE_PROPERTY = (
    "仅向依照法律、行政法规有权查询的国家机关共享（《不动产登记暂行条例》第二十七条），"
    "申请时须说明查询事由和法律依据。"
)
# SHR-1: refusing to share needs a legal basis.
NO_SHARE_MEDICAL = (
    "《中华人民共和国个人信息保护法》第二十八条（医疗健康信息属于敏感个人信息）；"
    "《中华人民共和国基本医疗卫生与健康促进法》第九十二条。"
)
NO_SHARE_CHILD = (
    "《中华人民共和国个人信息保护法》第二十八条、第三十一条（不满十四周岁未成年人的个人信息"
    "和医疗健康信息属于敏感个人信息）。"
)
# OPN-3, OPN-4: conditional opening needs an application and a signed agreement.
OPEN_AGREEMENT = (
    "申请人须完成实名认证并签署开放利用协议，写明数据清单、用途、应用场景、安全措施、"
    "使用期限及到期处置方式，不得用于营销推广。"
)

PERSON = (
    F("姓名", "string", "公民姓名", required=True),
    F("公民身份号码", "string", "18位公民身份号码（GB 11643）", "resident_id", True),
)


def entry_spec(
    orgs: dict[str, DemoOrg],
    key: str,
    name: str,
    code: str,
    org_key: str,
    summary: str,
    fields: tuple[DemoField, ...],
    rows: int,
    *,
    frequency: str,
    grade: str,
    share: str,
    share_conditions: str | None = None,
    no_share_basis: str | None = None,
    opening: str = "none",
    opening_conditions: str | None = None,
    formats: tuple[str, ...] = ("CSV", "XLSX"),
    approved: bool = True,
    load_policy: str = "quarantine",
) -> DemoEntry:
    org = orgs[org_key]
    tier = region_tier(org.region_code)
    return DemoEntry(
        key=key,
        name=name,
        resource_code=code,
        summary=summary,
        org_key=org_key,
        tier=tier,
        region_code=org.region_code,
        fields=fields,
        update_frequency=frequency,
        security_grade=grade,
        sharing_attr=share,
        sharing_conditions=share_conditions,
        no_share_basis=no_share_basis,
        opening_attr=opening,
        opening_conditions=opening_conditions,
        formats=formats,
        rows=rows,
        approved=approved,
        load_policy=load_policy,
    )


def province_entries(orgs: dict[str, DemoOrg]) -> tuple[DemoEntry, ...]:
    def e(*args, **kwargs) -> DemoEntry:
        return entry_spec(orgs, *args, **kwargs)

    region = F("行政区划代码", "string", "GB/T 2260 行政区划代码", "region_code", True)
    uscc = F("统一社会信用代码", "string", "18位统一社会信用代码（GB 32100）", "uscc", True)
    return (
        # ------------------------------------------------------------ province
        e(
            "hjrk",
            "户籍人口基本信息",
            "360000-GA-0001",
            "gat",
            "全省户籍人口的身份、性别、出生日期、民族、户籍地址和留存的手机号码。",
            PERSON
            + (
                F("性别", "string", "男/女"),
                F("出生日期", "date", "出生日期"),
                F("民族", "string", "民族"),
                F("户籍地址", "string", "户籍登记地址"),
                region,
                F("手机号码", "string", "本人留存的手机号码（实名核验、验证码）"),
            ),
            POPULATION.size,
            frequency="每日",
            grade="一般数据-4级",
            share="conditional",
            share_conditions=SHARE_PERSONAL,
            load_policy="reject",
        ),
        e(
            "qydj",
            "企业登记信息",
            "360000-SC-0001",
            "scj",
            "全省企业登记的基本信息：统一社会信用代码、名称、类型、法定代表人、注册资本等。",
            (
                uscc,
                F("企业名称", "string", "企业名称", required=True),
                F("企业类型", "string", "企业类型"),
                F("法定代表人", "string", "法定代表人姓名"),
                F("成立日期", "date", "成立日期"),
                F("注册资本", "decimal", "注册资本（万元）"),
                F("住所", "string", "企业住所"),
                F("登记机关区划代码", "string", "登记机关所在行政区划", "region_code"),
                F("经营状态", "string", "登记状态"),
            ),
            COMPANY_COUNT,
            frequency="每日",
            grade="一般数据-1级",
            share="unconditional",
            opening="unconditional",
            formats=("CSV", "XLSX", "API"),
        ),
        e(
            "sbcb",
            "社会保险参保信息",
            "360000-RS-0001",
            "rst",
            "参保人员的险种、参保状态、参保单位和缴费基数。",
            PERSON
            + (
                F("险种", "string", "参保险种"),
                F("参保状态", "string", "参保状态"),
                F("参保单位统一社会信用代码", "string", "参保单位代码", "uscc"),
                F("参保单位名称", "string", "参保单位名称"),
                F("首次参保日期", "date", "首次参保日期"),
                F("月缴费基数", "decimal", "月缴费基数（元）"),
                F("参保地行政区划代码", "string", "参保地", "region_code"),
            ),
            25000,
            frequency="每月",
            grade="一般数据-3级",
            share="conditional",
            share_conditions=SHARE_PERSONAL,
        ),
        e(
            "dlys",
            "道路运输经营许可信息",
            "360000-JT-0001",
            "jtt",
            "道路运输经营许可证的业户、经营范围、有效期和营运车辆数。",
            (
                F("许可证号", "string", "道路运输经营许可证号", required=True),
                F("业户名称", "string", "经营业户名称"),
                uscc,
                F("经营范围", "string", "经营范围"),
                F("核发日期", "date", "核发日期"),
                F("有效期至", "date", "有效期截止日期"),
                F("营运车辆数", "integer", "营运车辆数（辆）"),
                F("核发机关区划代码", "string", "核发机关所在行政区划", "region_code"),
            ),
            8000,
            frequency="每周",
            grade="一般数据-1级",
            share="unconditional",
            opening="unconditional",
        ),
        e(
            "bdcdj",
            "不动产登记信息",
            "360000-ZR-0001",
            "zrt",
            "不动产权利登记的单元号、权利人、坐落、面积和用途。",
            (
                F("不动产单元号", "string", "28位不动产单元号", required=True),
                F("不动产权证书号", "string", "不动产权证书号"),
                F("权利人", "string", "权利人姓名"),
                F("权利人证件号码", "string", "权利人公民身份号码", "resident_id"),
                F("坐落", "string", "不动产坐落"),
                F("建筑面积", "decimal", "建筑面积（平方米）"),
                F("规划用途", "string", "规划用途"),
                F("登记日期", "date", "登簿日期"),
                region,
            ),
            15000,
            frequency="每日",
            grade="一般数据-4级",
            share="conditional",
            share_conditions=SHARE_PROPERTY,
        ),
        e(
            "xxml",
            "学校名录",
            "360000-JY-0001",
            "jyt",
            "全省各级各类学校的名称、类型、举办者、地址和规模。",
            (
                F("学校标识码", "string", "10位学校标识码", required=True),
                F("学校名称", "string", "学校名称"),
                F("办学类型", "string", "办学类型"),
                F("举办者", "string", "举办者类型"),
                F("学校地址", "string", "学校地址"),
                F("在校学生数", "integer", "在校学生数（人）"),
                F("专任教师数", "integer", "专任教师数（人）"),
                region,
                uscc,
            ),
            6000,
            frequency="每年",
            grade="一般数据-1级",
            share="unconditional",
            opening="unconditional",
            formats=("CSV", "XLSX", "API"),
        ),
        e(
            "shzz",
            "社会组织登记信息",
            "360000-MZ-0001",
            "mzt",
            "社会团体、民办非企业单位和基金会的登记信息。",
            (
                uscc,
                F("社会组织名称", "string", "社会组织名称", required=True),
                F("组织类型", "string", "社会团体/民办非企业单位/基金会"),
                F("业务主管单位", "string", "业务主管单位"),
                F("登记日期", "date", "成立登记日期"),
                F("注册资金", "decimal", "注册资金（万元）"),
                F("法定代表人", "string", "法定代表人"),
                F("住所", "string", "住所"),
                F("登记管理机关区划代码", "string", "登记管理机关所在行政区划", "region_code"),
            ),
            5000,
            frequency="每月",
            grade="一般数据-1级",
            share="unconditional",
            opening="unconditional",
        ),
    )
