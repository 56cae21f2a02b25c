"""Column-name vocabulary: which entity a column's name suggests.

Names only help: values decide wherever they can (see classifier.py). Each
entity lists Chinese words (simplified and Traditional, matched as substrings
of the column name), and short tokens (English words, pinyin initials as in
government schemas: xm 姓名, xb 性别, sfzh 身份证号, lxdh 联系电话, hphm 号牌号码,
csrq 出生日期) matched as whole tokens of the name, so that ``xm`` never
fires inside ``xmbh`` (项目编号).
"""

from __future__ import annotations

import re
from functools import lru_cache

# entity code -> (Chinese substrings, whole tokens)
NAME_HINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "PERSON_NAME": (
        (
            "姓名",
            "名字",
            "联系人",
            "聯繫人",
            "聯絡人",
            "法定代表人",
            "法人代表",
            "负责人",
            "負責人",
            "户主",
            "戶主",
            "患者",
            "病人",
            "申请人",
            "申請人",
            "经办人",
            "經辦人",
            "监护人",
            "監護人",
            "学生",
            "學生",
            "家长",
            "家長",
            "当事人",
            "當事人",
            "员工",
            "員工",
            "职工",
            "職工",
        ),
        (
            "name",
            "xm",
            "fullname",
            "username_cn",
            "realname",
            "xingming",
            "lxr",
            "fddbr",
            "hzxm",
            "employee",
            "patient",
            "contact",
            "owner",
            "fzr",
        ),
    ),
    "CN_RESIDENT_ID": (
        ("身份证", "身份證", "证件号", "證件號", "公民身份", "证件号码", "身分證"),
        (
            "sfzh",
            "sfz",
            "sfzhm",
            "zjhm",
            "idcard",
            "id_no",
            "idno",
            "id_card",
            "idnumber",
            "id_number",
            "gmsfhm",
            "certno",
            "cert_no",
        ),
    ),
    "PASSPORT": (("护照", "護照"), ("passport", "hzhm", "passport_no")),
    "HK_MACAO_PERMIT": (("港澳通行证", "港澳通行證", "通行证", "通行證"), ("gatxz", "permit")),
    "CN_MOBILE": (
        (
            "手机",
            "手機",
            "移动电话",
            "移動電話",
            "联系电话",
            "聯繫電話",
            "电话",
            "電話",
            "联系方式",
        ),
        ("mobile", "phone", "cellphone", "tel", "sjhm", "sjh", "lxdh", "dh", "lxfs", "mobile_no"),
    ),
    "CN_LANDLINE": (
        ("电话", "電話", "座机", "座機", "固话", "固話", "办公电话", "辦公電話"),
        ("tel", "telephone", "phone", "landline", "lxdh", "gddh", "bgdh", "dh"),
    ),
    "EMAIL": (
        ("邮箱", "郵箱", "电子邮件", "電子郵件", "邮件", "郵件"),
        ("email", "mail", "e_mail", "yx", "dzyx"),
    ),
    "ADDRESS": (
        (
            "地址",
            "住址",
            "住所",
            "居住地",
            "户籍地",
            "戶籍地",
            "所在地",
            "通讯地址",
            "通訊地址",
            "家庭住址",
        ),
        ("address", "addr", "dz", "zz", "jzdz", "hjdz", "xzz", "location"),
    ),
    "BIRTH_DATE": (
        ("出生", "生日", "出生日期", "出生年月"),
        ("birth", "birthday", "dob", "birthdate", "date_of_birth", "csrq", "csny", "birth_date"),
    ),
    "GENDER": (("性别", "性別"), ("gender", "sex", "xb", "xbdm")),
    "ETHNICITY": (("民族",), ("ethnicity", "nation", "nationality", "mz", "mzdm", "ethnic")),
    "RELIGION": (("宗教", "信仰"), ("religion", "faith", "zjxy", "zj")),
    "EDUCATION": (
        ("学历", "學歷", "文化程度", "教育程度", "最高学历", "受教育"),
        ("education", "edu", "degree", "xl", "whcd", "xldm", "jycd"),
    ),
    "MEDICAL": (
        (
            "诊断",
            "診斷",
            "疾病",
            "病种",
            "病種",
            "病情",
            "症状",
            "症狀",
            "药品",
            "藥品",
            "病史",
            "病名",
            "主诉",
            "主訴",
        ),
        (
            "diagnosis",
            "diag",
            "icd",
            "icd10",
            "disease",
            "drug",
            "medicine",
            "zdbm",
            "zdmc",
            "jbbm",
            "jbmc",
            "zd",
        ),
    ),
    "BANK_CARD": (
        (
            "银行卡",
            "銀行卡",
            "银行账号",
            "銀行帳號",
            "卡号",
            "卡號",
            "账号",
            "帳號",
            "账户",
            "帳戶",
        ),
        ("bank", "card", "cardno", "card_no", "bank_account", "bankcard", "yhkh", "zh", "khzh"),
    ),
    "ACCOUNT_ID": (
        (
            "账号",
            "帳號",
            "用户名",
            "用戶名",
            "登录名",
            "登錄名",
            "账户名",
            "昵称",
            "暱稱",
            "用户",
            "用戶",
        ),
        (
            "account",
            "user",
            "username",
            "user_name",
            "login",
            "userid",
            "user_id",
            "uid",
            "uname",
            "nickname",
            "yhm",
            "zh",
            "dlm",
        ),
    ),
    "IP_ADDRESS": (("ip地址", "IP地址"), ("ip", "ipaddr", "client_ip", "ip_address", "src_ip")),
    "MAC_ADDRESS": (
        ("mac地址", "MAC地址", "物理地址"),
        ("mac", "macaddr", "device_mac", "mac_address"),
    ),
    "IMEI": (("imei", "设备识别码", "設備識別碼"), ("imei", "meid")),
    "LICENSE_PLATE": (
        ("车牌", "車牌", "号牌", "號牌"),
        ("plate", "license_plate", "plate_no", "hphm", "cph", "plateno"),
    ),
    "VEHICLE_VIN": (("车辆识别", "車輛識別", "车架号", "車架號"), ("vin", "clsbdh", "cjh")),
    "GEO_COORDINATE": (
        ("经度", "經度", "纬度", "緯度", "坐标", "座標", "位置", "定位"),
        ("lng", "lon", "long", "longitude", "lat", "latitude", "jd", "wd", "gps", "coord", "zb"),
    ),
    "BIOMETRIC": (
        (
            "人脸",
            "人臉",
            "指纹",
            "指紋",
            "声纹",
            "聲紋",
            "虹膜",
            "掌纹",
            "掌紋",
            "照片",
            "人像",
            "面部",
        ),
        (
            "face",
            "fingerprint",
            "voiceprint",
            "iris",
            "biometric",
            "photo",
            "zw",
            "rlzp",
            "zp",
            "face_image",
            "face_feature",
        ),
    ),
    "CN_USCC": (
        ("统一社会信用代码", "統一社會信用代碼", "信用代码", "信用代碼"),
        ("uscc", "tyshxydm", "credit_code", "shxydm"),
    ),
    "ORG_NAME": (
        (
            "单位",
            "單位",
            "企业名称",
            "企業名稱",
            "机构",
            "機構",
            "公司",
            "医院",
            "醫院",
            "学校",
            "學校",
        ),
        ("org", "company", "organization", "enterprise", "dwmc", "qymc", "jgmc", "hospital"),
    ),
}

_TOKEN_SPLIT = re.compile(r"[\s_\-./()（）\[\]:：]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _tokens(name: str) -> set[str]:
    spaced = _CAMEL.sub("_", name.strip())
    lowered = spaced.lower()
    parts = {p for p in _TOKEN_SPLIT.split(lowered) if p}
    parts.add(lowered.replace(" ", ""))
    # "id_no" style joined tokens and trailing digits ("mobile2", "col_07")
    parts |= {p.rstrip("0123456789") for p in parts}
    parts.add(re.sub(r"[\s\-./]+", "_", lowered))
    return {p for p in parts if p}


@lru_cache(maxsize=4096)
def name_hints(column_name: str) -> frozenset[str]:
    """Entity codes the column's name suggests (possibly several, possibly none)."""
    name = column_name or ""
    tokens = _tokens(name)
    lowered = name.lower()
    hits = set()
    for code, (words, toks) in NAME_HINTS.items():
        if any(w.lower() in lowered for w in words) or tokens & set(toks):
            hits.add(code)
    return frozenset(hits)
