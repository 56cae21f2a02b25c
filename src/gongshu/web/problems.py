"""Pydantic's validation errors said in Chinese (issue 17 item 5): "use：必填，不能为空",
not "Field required". The field is named as the form or API names it."""

from __future__ import annotations

from typing import Any

SAYINGS = {
    "missing": "必填，不能为空",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数值",
    "float_type": "应为数值",
    "decimal_parsing": "应为数值",
    "bool_parsing": "应为“是”或“否”",
    "bool_type": "应为“是”或“否”",
    "string_type": "应为文字",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不对",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "date_parsing": "应为日期，如 2026-01-31",
    "date_from_datetime_parsing": "应为日期，如 2026-01-31",
    "date_type": "应为日期，如 2026-01-31",
    "datetime_parsing": "应为日期时间，如 2026-01-31 09:30",
    "datetime_from_date_parsing": "应为日期时间，如 2026-01-31 09:30",
    "datetime_type": "应为日期时间，如 2026-01-31 09:30",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "extra_forbidden": "不是可接受的字段",
    "url_parsing": "不是有效的网址",
    "uuid_parsing": "不是有效的编号",
}


# What a form field is called on the page, for the messages people read (a JSON answer
# keeps the field's own name, for the program that sent it).
FIELD_LABELS = {
    "action": "操作",
    "amount_yuan": "金额（元）",
    "answer": "答复",
    "back": "返回地址",
    "basis": "依据",
    "budget": "预算",
    "channel": "渠道",
    "claim": "主张",
    "code": "验证码",
    "comment": "意见",
    "complaints": "投诉渠道",
    "conditions": "条件",
    "confirm": "确认",
    "contact": "联系方式",
    "correct_column": "更正列",
    "correct_value": "更正值",
    "correction_order": "整改要求",
    "correction_workdays": "整改期限（工作日）",
    "country": "国家或地区",
    "credit_code": "统一社会信用代码",
    "data_wanted": "所需数据",
    "days": "天数",
    "decision": "决定",
    "decision_reason": "决定理由",
    "description": "说明",
    "details": "详情",
    "disposal": "处置",
    "document": "文件",
    "due_on": "期限",
    "entity_code": "机构代码",
    "entries": "目录",
    "entry_id": "目录",
    "field": "字段",
    "field_desc": "字段说明",
    "field_kind": "字段类别",
    "field_name": "字段名称",
    "field_required": "是否必填",
    "field_type": "字段类型",
    "fields": "字段",
    "file": "文件",
    "finding": "发现",
    "findings": "发现的问题",
    "form": "表单",
    "formats": "格式",
    "found_at": "发现时间",
    "functions": "职能",
    "grade": "等级",
    "handled_at": "处理时间",
    "harm_done": "造成的危害",
    "id_number": "身份证号码",
    "important_data": "重要数据",
    "judicial": "司法",
    "kind": "类型",
    "legal_basis": "法律依据",
    "legal_entry_id": "法律依据目录",
    "limit": "条数",
    "lines": "内容",
    "load_policy": "加载策略",
    "mobile": "手机号码",
    "mobile_confirmed": "手机号码确认",
    "name": "名称",
    "next": "下一步",
    "no_share_basis": "不予共享依据",
    "note": "说明",
    "officer_contact": "负责人联系方式",
    "ok": "结论",
    "opening_attr": "开放属性",
    "opening_conditions": "开放条件",
    "operator_org_id": "运营机构",
    "org_id": "机构",
    "outcome": "结果",
    "owner": "责任人",
    "page": "页码",
    "party": "当事方",
    "password": "密码",
    "password_again": "确认密码",
    "people_affected": "涉及人数",
    "personal_info": "个人信息",
    "posted": "发布",
    "purpose": "用途",
    "q": "搜索词",
    "reason": "原因",
    "reasons": "理由",
    "recipient_org_id": "接收机构",
    "recipients": "接收方",
    "reference": "编号",
    "requested_fields": "申请字段",
    "resolution": "处理结果",
    "resource_code": "资源代码",
    "response": "答复",
    "result": "结论",
    "retention": "保存期限",
    "revenue_method": "收益方式",
    "rights_channels": "权利行使渠道",
    "risk_report": "风险报告",
    "risks": "风险",
    "role": "角色",
    "row_description": "行说明",
    "rules": "规则",
    "scenario": "场景",
    "scope": "范围",
    "security_grade": "安全等级",
    "security_measures": "安全措施",
    "security_requirements": "安全要求",
    "service_text": "服务内容",
    "sharing_attr": "共享属性",
    "sharing_conditions": "共享条件",
    "source": "来源",
    "sql": "查询语句",
    "status": "状态",
    "summary": "摘要",
    "term_days": "期限（天）",
    "text": "内容",
    "third_parties": "第三方",
    "third_party_code": "第三方代码",
    "title": "标题",
    "update_frequency": "更新频率",
    "use": "用途",
    "use_kind": "使用类型",
    "username": "用户名",
    "valid_from": "生效日期",
    "valid_until": "有效期至",
    "value": "取值",
    "vendor_id": "服务商",
    "workdays": "工作日",
    "year": "年份",
}


def field_label(name: str) -> str:
    """A form field as people read it; one we have no name for is "表单中的一项"."""
    return FIELD_LABELS.get(name, "表单中的一项")


def say(err: dict[str, Any], *, people: bool = False) -> str:
    """One error as "字段：问题" in Chinese; our own validators' Chinese text is kept.
    ``people``: name the field as the page does, never by its code."""
    parts = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    if people and parts:
        names = [p for p in parts if not p.isdigit()]
        where = field_label(names[0]) if names else "表单中的一项"
    else:
        where = ".".join(parts)
    kind = err.get("type", "")
    ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, str | int | float)}
    if kind == "value_error":
        text = str(err.get("msg", "")).removeprefix("Value error, ")
        text = text if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "取值无效"
    elif kind in SAYINGS:
        try:
            text = SAYINGS[kind].format(**ctx)
        except (KeyError, IndexError):
            text = SAYINGS[kind].split("：")[0].split(" {")[0]
    else:
        text = "取值无效"
    return f"{where}：{text}" if where else text
