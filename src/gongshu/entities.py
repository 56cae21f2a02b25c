"""The entity codes of shared/spec/entities.md: the contract between discovery,
the catalog, masking policies and tests. Add codes; never rename."""

from __future__ import annotations

ENTITY_LABELS = {
    "PERSON_NAME": "姓名",
    "CN_RESIDENT_ID": "居民身份证号",
    "PASSPORT": "护照号",
    "HK_MACAO_PERMIT": "港澳通行证号",
    "CN_MOBILE": "手机号码",
    "CN_LANDLINE": "固定电话",
    "EMAIL": "电子邮箱",
    "ADDRESS": "地址",
    "BIRTH_DATE": "出生日期",
    "GENDER": "性别",
    "ETHNICITY": "民族",
    "RELIGION": "宗教信仰",
    "EDUCATION": "学历",
    "MEDICAL": "医疗健康",
    "BANK_CARD": "银行卡号",
    "ACCOUNT_ID": "网络账号",
    "IP_ADDRESS": "IP 地址",
    "MAC_ADDRESS": "MAC 地址",
    "IMEI": "IMEI",
    "LICENSE_PLATE": "车牌号",
    "VEHICLE_VIN": "车辆识别代号",
    "GEO_COORDINATE": "精确位置",
    "BIOMETRIC": "生物识别",
    "CN_USCC": "统一社会信用代码",
    "ORG_NAME": "单位名称",
}
# PIPL art. 28 / GB/T 35273 annex B, as the spec's table marks them.
SENSITIVE = frozenset(
    {
        "CN_RESIDENT_ID",
        "PASSPORT",
        "HK_MACAO_PERMIT",
        "RELIGION",
        "MEDICAL",
        "BANK_CARD",
        "GEO_COORDINATE",
        "BIOMETRIC",
    }
)
