"""A generator of agency exports as they really look (issue 21 item 6), with labels.

Other names, noise and encodings than ``shared/datasets/discovery-dev``: its own
surname and given-name lists (no Faker), compound and minority names, pinyin,
addresses built from GB/T 2260 division names, 12345 hotline letters, case notes
and work orders with entities inside sentences, JSON columns (nested objects,
arrays, ``\\u`` escapes, a document stored as a string), masked exports, an ID
split over two columns, vehicle owners that are people or companies, scenic spots
and pinyin place names as look-alikes. Files are written as UTF-8, UTF-8 with
BOM, GB18030, XLSX and Parquet.

``write_exports(dir, seed)`` returns ``{file: {"columns": {column: [codes]},
"minors_under_14": false}}``, the format of ``discovery-dev/labels.json``.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gongshu import identifiers as ids

SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
COMPOUND = ["欧阳", "司马", "诸葛", "上官", "皇甫", "令狐", "慕容", "东方"]
GIVEN = "子涵浩然梓轩欣怡雨桐思远俊杰婉清嘉怡宇航天佑一鸣晓东海燕志强秋菊春生德胜立新卫东红英玉珍宏伟振华晨曦若溪沐阳佳琪文博明轩芷若"  # noqa: E501
DOTTED = ["阿依古丽·买买提", "买买提·艾力", "热依拉·吐尔逊", "努尔兰·库尔班", "迪丽拉·阿不都"]
TIBETAN = [
    "扎西多吉",
    "次仁卓玛",
    "格桑央金",
    "尼玛次仁",
    "达瓦卓嘎",
    "巴特尔",
    "其其格",
    "斯琴图雅",
]
PY_SURNAMES = ["Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu"]
PY_SURNAMES += ["Sun", "Ma", "Hu", "Guo", "Lin", "He", "Gao", "Luo", "Zheng", "Liang", "Ouyang"]
PY_GIVEN = ["San", "Sanfeng", "Wei", "Fang", "Xiaoming", "Jianguo", "Lei", "Yuxuan", "Zihan"]
PY_GIVEN += ["Haoran", "Tingting", "Jun", "Qiang", "Meiling", "Zhiqiang", "Yi", "Xin", "Chenxi"]
SCENIC = "黄鹤楼 西湖 岳阳楼 滕王阁 雷峰塔 颐和园 故宫 天坛 拙政园 寒山寺 灵隐寺 华清池 都江堰 张家界 周庄 乌镇 鼓浪屿 日月潭 千岛湖 布达拉宫 莫高窟 黄山 庐山 武当山 华山 秦淮河 钱塘江 普陀山 云台山 夫子庙 瘦西湖 兰亭 平遥古城 乐山大佛 武侯祠 杜甫草堂 蓬莱阁 趵突泉 大明湖 九寨沟 石林 桂林 阳朔 西塘 南浔 宏村 白马寺 少林寺".split()  # noqa: E501
PY_PLACES = ["Hangzhou", "Shanghai Pudong", "Wuhan Hankou", "Beijing Chaoyang", "Nanjing"]
PY_PLACES += ["Suzhou Gusu", "Xiamen Siming", "Chengdu Wuhou", "Hefei Shushan", "Jinan Lixia"]
ROADS = "人民 解放 中山 建设 和平 新华 胜利 文化 朝阳 青年 光明 长江 黄河 滨江 学院 东风 工农 幸福 振兴 迎宾".split()  # noqa: E501
COMMUNITIES = (
    "金色家园 阳光花园 锦绣苑 翠湖小区 和谐家园 书香门第 绿城桂花园 幸福里 紫荆花园 碧水湾".split()
)  # noqa: E501
TRADES = "科技 商贸 建筑工程 物业服务 餐饮管理 汽车销售 物流 医药 文化传媒 环保设备".split()
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]
PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
MOBILE_PREFIXES = ["133", "135", "136", "138", "150", "152", "158", "166", "173", "177", "180"]
MOBILE_PREFIXES += ["182", "187", "189", "191", "198", "199"]
BINS = ["622202", "622848", "621700", "622588", "623058", "436742", "524091", "625965"]


class Exports:
    """Seeded values: valid where the label says so, junk where it says not."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        codes = ids.region_codes()
        self.counties = sorted(c for c in codes if not c.endswith("00") and c[:2] != "71")
        self.names = codes

    # ------------------------------------------------------------ values
    def pick(self, seq):  # noqa: ANN001, ANN201
        return self.r.choice(seq)

    def han_name(self) -> str:
        if self.r.random() < 0.04:
            return self.pick(COMPOUND) + "".join(self.r.choices(GIVEN, k=self.r.choice([1, 2])))
        return self.pick(SURNAMES) + "".join(self.r.choices(GIVEN, k=self.r.choice([1, 2, 2])))

    def any_name(self) -> str:
        x = self.r.random()
        return self.pick(DOTTED) if x < 0.05 else self.pick(TIBETAN) if x < 0.1 else self.han_name()

    def pinyin_name(self) -> str:
        s, g = self.pick(PY_SURNAMES), self.pick(PY_GIVEN)
        style = self.r.randrange(5)
        return [
            f"{s} {g}",
            f"{s.upper()} {g}",
            f"{s.upper()} {g.upper()}",
            f"{g} {s}",
            f"{s}, {g}",
        ][style]

    def born(self, lo: int = 1950, hi: int = 2004) -> date:
        start = date(lo, 1, 1)
        return start + timedelta(days=self.r.randrange((date(hi, 12, 31) - start).days))

    def resident_id(self) -> str:
        first = f"{self.pick(self.counties)}{self.born():%Y%m%d}{self.r.randrange(1000):03d}"
        v = first + ids.id_check_char(first)
        return v.lower() if v.endswith("X") and self.r.random() < 0.3 else v

    def uscc(self) -> str:
        body = self.pick(["91", "92", "93", "52"]) + self.pick(self.counties)
        body += "".join(self.r.choices("0123456789ABCDEFGHJKLMNPQRTUWXY", k=9))
        return body + ids.uscc_check_char(body)

    def mobile(self, styled: bool = True) -> str:
        m = self.pick(MOBILE_PREFIXES) + f"{self.r.randrange(10**8):08d}"
        if not styled:
            return m
        return self.pick(
            [m, m, f"{m[:3]}-{m[3:7]}-{m[7:]}", f"{m[:3]} {m[3:7]} {m[7:]}", "+86" + m]
        )

    def landline(self) -> str:
        return self.pick(["0571-", "027-", "010-", "0731-", "0551-"]) + str(
            self.r.randrange(2_000_000, 99_999_999)
        )

    def luhn(self, body: str) -> str:
        for check in "0123456789":
            digits = [int(c) for c in (body + check)[::-1]]
            total = sum(
                d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)
            )
            if total % 10 == 0:
                return body + check
        raise AssertionError

    def bank_card(self, spaced: bool = False) -> str:
        n = self.pick([16, 19, 19])
        card = self.luhn(self.pick(BINS) + "".join(self.r.choices("0123456789", k=n - 7)))
        return " ".join(card[i : i + 4] for i in range(0, n, 4)) if spaced else card

    def plate(self) -> str:
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        tail = "".join(self.r.choices(letters[:10] + "0123456789", k=5))
        if self.r.random() < 0.2:
            tail = self.pick("DF") + "".join(self.r.choices("0123456789", k=5))
        return self.pick(PROVINCE_CHARS) + self.pick(letters[:12]) + tail

    def county_path(self) -> str:
        code = self.pick(self.counties)
        parts = [self.names.get(code[:2] + "0000", ""), self.names.get(code[:4] + "00", "")]
        return "".join(p for p in parts if p and p not in ("市辖区", "县")) + self.names[code]

    def address(self) -> str:
        road = self.pick(ROADS) + self.pick(["路", "街", "大道"])
        tail = self.pick(
            [
                f"{self.r.randrange(1, 999)}号",
                f"{self.pick(COMMUNITIES)}"
                f"{self.r.randrange(1, 30)}栋{self.r.randrange(1, 6)}单元"
                f"{self.r.randrange(101, 2802)}室",
            ]
        )
        return f"{self.county_path()}{road}{tail}"

    def org(self) -> str:
        code = self.pick(self.counties)
        stem = self.names[code][:2]
        return stem + "".join(self.r.choices(GIVEN, k=2)) + self.pick(TRADES) + self.pick(FORMS)

    def order_no(self) -> str:
        return self.pick(["GD", "12345", "AJ", ""]) + f"{self.r.randrange(10**15, 10**16)}"

    def when(self) -> str:
        d = date(2025, 1, 1) + timedelta(days=self.r.randrange(600))
        return f"{d:%Y-%m-%d} {self.r.randrange(24):02d}:{self.r.randrange(60):02d}"

    def junk(self, value: str, p: float = 0.04) -> str | None:
        x = self.r.random()
        return None if x < p else self.pick(["", " ", "无", "-"]) if x < p * 1.5 else value


def _letter(g: Exports) -> tuple[str, set[str]]:
    """A 12345 hotline letter: 100-400 characters, entities inside sentences."""
    name, used = g.any_name(), {"PERSON_NAME"}
    who = g.pick(
        [
            f"市民{name}来电反映",
            f"来电人{name}称",
            f"投诉人：{name}，",
            f"{name[0]}先生来电",
            f"业主{name}反映",
            f"{name}来电反映",
            f"{name}，",
            f"我叫{name}，",
            f"{name[0]}女士致电",
        ]
    )
    parts = [who]
    if g.r.random() < 0.5:
        parts.append(f"其身份证号码为{g.resident_id()}，")
        used.add("CN_RESIDENT_ID")
    parts.append(f"住{g.address()}，" if g.r.random() < 0.6 else "")
    if parts[-1]:
        used.add("ADDRESS")
    issue = g.pick(
        [
            "小区楼下餐馆油烟扰民严重，多次协调无果",
            "所住楼栋电梯长期故障无人维修",
            "在某培训机构缴纳学费后机构关门，要求退费",
            "小区门口道路积水严重影响出行",
            "快递长期未送达，联系快递员无人回应",
            "物业擅自提高停车费且未公示",
            "夜间施工噪音扰民，影响休息",
            "网购商品质量问题，商家拒绝退换",
        ]
    )
    parts.append(issue + "。")
    if g.r.random() < 0.4:
        parts.append(f"涉事车辆号牌{g.plate()}长期占用消防通道。")
        used.add("LICENSE_PLATE")
    if g.r.random() < 0.35:
        parts.append(f"要求将退款打入其银行卡{g.bank_card(g.r.random() < 0.3)}。")
        used.add("BANK_CARD")
    phone = (
        g.mobile() if g.r.random() < 0.85 else g.mobile(False)[:3] + "****" + g.mobile(False)[7:]
    )
    parts.append(f"联系电话{phone}，请尽快处理。" if g.r.random() < 0.8 else "请相关部门尽快处理。")
    if "联系电话" in parts[-1]:
        used.add("CN_MOBILE")
    parts.append(
        g.pick(["", "来电人情绪激动，要求三个工作日内答复。", "已告知相关政策，市民表示理解。"])
    )
    return "".join(parts), used


def _case_note(g: Exports) -> tuple[str, set[str]]:
    name, used = g.han_name(), {"PERSON_NAME"}
    text = g.pick(
        [
            f"当事人{name}（{g.pick(['男', '女'])}，{g.r.randrange(18, 80)}岁）",
            f"经查，违法行为人{name}",
            f"报案人{name}称",
        ]
    )
    if "岁" in text:
        used.add("GENDER")
    if g.r.random() < 0.6:
        text += f"，公民身份号码{g.resident_id()}"
        used.add("CN_RESIDENT_ID")
    text += g.pick(["于当日驾驶", "在停车场内驾驶", "被发现驾驶"])
    text += f"{g.plate()}号小型轿车与他人发生剐蹭，双方就赔偿问题未达成一致。"
    used.add("LICENSE_PLATE")
    if g.r.random() < 0.5:
        text += f"经民警调解，双方同意协商解决。对方联系方式{g.mobile()}。"
        used.add("CN_MOBILE")
    return text, used


WORK_ORDERS = [
    "{n}号路灯不亮，已派单至照明所维修，预计{d}日内完成。",
    "辖区{n}号窨井盖破损，已设置警示标志并更换井盖，费用{m}元。",
    "设备编号{s}的空调外机异响，维修人员已更换风扇电机，工时{d}小时。",
    "公园{n}号座椅损坏，已安排更换，资产编号{s}。",
    "道路{n}米处绿化带枯死，计划于下月补植，预算{m}元。",
    "供水管网压力偏低，已调整{n}号泵站运行参数，监测值{m}MPa。",
]


def _work_order(g: Exports) -> str:
    return g.pick(WORK_ORDERS).format(
        n=g.r.randrange(1, 999),
        d=g.r.randrange(1, 9),
        m=f"{g.r.uniform(1, 9999):.2f}",
        s=f"{g.r.randrange(10**11, 10**12)}",
    )


def _payload(g: Exports) -> dict:
    doc: dict = {
        "applyNo": g.order_no(),
        "applicant": {"name": g.han_name(), "idCard": g.resident_id(), "mobile": g.mobile(False)},
        "items": [{"type": g.pick(["补贴", "救助"]), "amount": round(g.r.uniform(50, 5000), 2)}],
        "status": g.pick(["SUBMITTED", "APPROVED", "REJECTED"]),
    }
    if g.r.random() < 0.7:
        doc["payee"] = {"bankCard": g.bank_card(), "bank": g.pick(["工商银行", "农业银行"])}
    if g.r.random() < 0.5:
        doc["contacts"] = [{"xm": g.han_name(), "lxdh": g.mobile(False)} for _ in range(2)]
    return doc


def _device_info(g: Exports) -> str:
    return json.dumps(
        {
            "os": g.pick(["Android 14", "iOS 17.2", "HarmonyOS 4"]),
            "appVer": f"3.{g.r.randrange(9)}.0",
            "screen": {"w": 1080, "h": 2400},
            "net": g.pick(["wifi", "5g"]),
            "cost_ms": g.r.randrange(900),
            "tags": [g.pick(["首页", "办事", "我的"]) for _ in range(2)],
        },
        ensure_ascii=g.r.random() < 0.5,
    )


def _mask_id(v: str) -> str:
    return v[:6] + "********" + v[-4:] if len(v) == 18 else v


def tables(g: Exports, n: int) -> dict[str, tuple[pa.Table, dict[str, list[str]]]]:
    """name -> (table, labels)."""
    out: dict[str, tuple[pa.Table, dict[str, list[str]]]] = {}
    letters = [_letter(g) for _ in range(n)]
    seen = set().union(*(u for _, u in letters))
    out["hotline_12345"] = (
        pa.table(
            {
                "gdbh": [g.order_no() for _ in range(n)],
                "slsj": [g.when() for _ in range(n)],
                "ldnr": [g.junk(t, 0.02) for t, _ in letters],
                "clyj": [
                    g.pick(["已转属地街道办理", "已电话回复，市民满意", "转城管部门处理"])
                    for _ in range(n)
                ],
                "myd": [g.pick(["满意", "基本满意", "不满意"]) for _ in range(n)],
            }
        ),
        {"gdbh": [], "slsj": [], "ldnr": sorted(seen), "clyj": [], "myd": []},
    )
    notes = [_case_note(g) for _ in range(n)]
    out["case_notes"] = (
        pa.table(
            {
                "案件编号": [f"AJ{g.r.randrange(10**9, 10**10)}" for _ in range(n)],
                "办案民警": [g.han_name() for _ in range(n)],
                "简要案情": [t for t, _ in notes],
                "工单描述": [_work_order(g) for _ in range(n)],
            }
        ),
        {
            "案件编号": [],
            "办案民警": ["PERSON_NAME"],
            "工单描述": [],
            "简要案情": sorted(set().union(*(u for _, u in notes))),
        },
    )
    docs = [_payload(g) for _ in range(n)]
    out["apply_json"] = (
        pa.table(
            {
                "id": list(range(n)),
                "payload": [json.dumps(d, ensure_ascii=g.r.random() < 0.5) for d in docs],
                "ext": [
                    json.dumps({"raw": json.dumps(d["applicant"], ensure_ascii=False)})
                    for d in docs
                ],
                "device": [_device_info(g) for _ in range(n)],
            }
        ),
        {
            "id": [],
            "device": [],
            "ext": ["CN_MOBILE", "CN_RESIDENT_ID", "PERSON_NAME"],
            "payload": ["BANK_CARD", "CN_MOBILE", "CN_RESIDENT_ID", "ORG_NAME", "PERSON_NAME"],
        },
    )
    members = [
        [
            {
                "姓名": g.any_name(),
                "与户主关系": g.pick(["本人", "配偶", "子女"]),
                "证件": {"类型": "居民身份证", "号码": g.resident_id()},
            }
            for _ in range(g.r.randrange(1, 4))
        ]
        for _ in range(n)
    ]
    escaped = [json.dumps(f"申请人{g.han_name()}，电话{g.mobile(False)}")[1:-1] for _ in range(n)]
    out["family_json"] = (
        pa.table(
            {
                "hh_id": [f"HH{g.r.randrange(10**8):08d}" for _ in range(n)],
                "members": [json.dumps(m, ensure_ascii=True) for m in members],
                "memo_escaped": escaped,
                "meta": [
                    json.dumps([g.pick(["A", "B"]), g.r.randrange(100), g.when()]) for _ in range(n)
                ],
            }
        ),
        {
            "hh_id": [],
            "members": ["CN_RESIDENT_ID", "PERSON_NAME"],
            "memo_escaped": ["CN_MOBILE", "PERSON_NAME"],
            "meta": [],
        },
    )
    people = [(g.han_name(), g.resident_id(), g.mobile(False), g.bank_card()) for _ in range(n)]
    out["masked_export"] = (
        pa.table(
            {
                "xm": [
                    nm[0] + "*" * (len(nm) - 1) if i % 2 else nm[0] + "*" + nm[2:]
                    for i, (nm, *_) in enumerate(people)
                ],
                "zjhm": [_mask_id(p[1]) for p in people],
                "sjhm": [p[2][:3] + "****" + p[2][7:] for p in people],
                "yhkh": [p[3][:6] + "*" * (len(p[3]) - 10) + p[3][-4:] for p in people],
                "jzdz": [g.county_path() + "****" for _ in range(n)],
                "bydh": ["*" * 11 for _ in range(n)],
                "jfje": [f"{g.r.uniform(0, 3000):.2f}" for _ in range(n)],
            }
        ),
        {
            "xm": ["PERSON_NAME"],
            "zjhm": ["CN_RESIDENT_ID"],
            "sjhm": ["CN_MOBILE"],
            "yhkh": ["BANK_CARD"],
            "jzdz": ["ADDRESS"],
            "bydh": [],
            "jfje": [],
        },
    )
    cut = g.pick([6, 10, 14])
    out["split_id"] = (
        pa.table(
            {
                "sfzh_q": [p[1][:cut] for p in people],
                "sfzh_h": [p[1][cut:].upper() for p in people],
                "name_py": [g.pinyin_name() for _ in range(n)],
                "city_en": [g.pick(PY_PLACES) for _ in range(n)],
                "ye": [f"{g.r.uniform(0, 1e5):.2f}" for _ in range(n)],
            }
        ),
        {
            "sfzh_q": ["CN_RESIDENT_ID"],
            "sfzh_h": ["CN_RESIDENT_ID"],
            "name_py": ["PERSON_NAME"],
            "city_en": [],
            "ye": [],
        },
    )
    company = [g.r.random() < 0.2 for _ in range(n)]
    out["vehicle_owners"] = (
        pa.table(
            {
                "hphm": [g.plate() for _ in range(n)],
                "syr": [g.org() if c else g.any_name() for c in company],
                "zjhm": [g.uscc() if c else g.resident_id() for c in company],
                "lxdh": [g.landline() if c else g.mobile(False) for c in company],
                "cllx": [g.pick(["小型轿车", "小型普通客车", "轻型货车"]) for _ in range(n)],
            }
        ),
        {
            "hphm": ["LICENSE_PLATE"],
            "syr": ["ORG_NAME", "PERSON_NAME"],
            "zjhm": ["CN_RESIDENT_ID", "CN_USCC"],
            "lxdh": ["CN_LANDLINE", "CN_MOBILE"],
            "cllx": [],
        },
    )
    out["scenic_spots"] = (
        pa.table(
            {
                "名称": [g.pick(SCENIC) for _ in range(n)],
                "负责人": [g.any_name() for _ in range(n)],
                "holder_name": [g.pinyin_name() for _ in range(n)],
                "票价": [str(g.pick([0, 30, 60, 80, 120])) for _ in range(n)],
            }
        ),
        {"名称": [], "负责人": ["PERSON_NAME"], "holder_name": ["PERSON_NAME"], "票价": []},
    )
    return out


FORMATS = {
    "family_json": "csv-utf8",
    "hotline_12345": "csv-gb18030",
    "case_notes": "csv-bom",
    "apply_json": "parquet",
    "masked_export": "xlsx",
    "split_id": "csv-utf8",
    "vehicle_owners": "csv-gb18030",
    "scenic_spots": "csv-utf8",
}


def write_exports(directory: Path, seed: int = 21, rows: int = 600) -> dict[str, dict]:
    """Write the tables and return their labels (the discovery-dev format)."""
    g = Exports(seed)
    labels: dict[str, dict] = {}
    for name, (table, cols) in tables(g, rows).items():
        kind = FORMATS[name]
        suffix = {"parquet": "parquet", "xlsx": "xlsx"}.get(kind, "csv")
        path = directory / f"{name}.{suffix}"
        if kind == "parquet":
            pq.write_table(table, path)
        elif kind == "xlsx":
            from openpyxl import Workbook

            wb = Workbook()
            wb.active.append(table.column_names)
            for row in zip(*(table[c].to_pylist() for c in table.column_names), strict=True):
                wb.active.append(list(row))
            wb.save(path)
        else:
            buf = pa.BufferOutputStream()
            pacsv.write_csv(table, buf)
            text = buf.getvalue().to_pybytes().decode("utf-8")
            enc = {"csv-utf8": "utf-8", "csv-bom": "utf-8-sig", "csv-gb18030": "gb18030"}[kind]
            path.write_bytes(text.encode(enc))
        labels[path.name] = {"columns": cols, "minors_under_14": False}
    return labels


def score(report: dict, labels: dict[str, dict]) -> dict[str, float]:
    """Micro precision / recall / F1 over (file, column, entity) triples."""
    tp = fp = fn = 0
    misses: list[str] = []
    for table in report["tables"]:
        truth = labels[Path(table["source"]).name]["columns"]
        for col in table["columns"]:
            want, got = set(truth[col["name"]]), set(col["entities"])
            tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
            if want != got:
                misses.append(
                    f"{Path(table['source']).name}:{col['name']} +{got - want} -{want - got}"
                )
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-9), "misses": misses}
