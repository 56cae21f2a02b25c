"""Names people read for ledger events (issue 17 item 5): the ledger page shows
"提交目录审核" and "目录「户籍人口」", not ``catalog.submitted`` and ``entry:12``.

The action codes stay the machine record; these tables only label them. An action not
listed here is named by its namespace ("目录：其他操作"), never shown raw.
"""

from __future__ import annotations

NAMESPACES = {
    "assessment": "影响评估",
    "audit": "合规审计",
    "auth": "登录",
    "catalog": "目录",
    "compliance": "合规",
    "consent": "同意",
    "crossborder": "数据出境",
    "dataset": "数据",
    "discovery": "敏感数据识别",
    "egress": "数据出口",
    "federation": "联邦节点",
    "grant": "数据授权",
    "identity": "身份核验",
    "incident": "安全事件",
    "instrument": "文书",
    "market": "数据交易",
    "open": "开放",
    "operation": "授权运营",
    "org": "机构",
    "otp": "验证码",
    "privacy": "个人信息",
    "procurement": "采购",
    "quality": "数据质量",
    "registration": "登记",
    "rights": "个人信息权利请求",
    "sharing": "共享",
    "signer": "签名",
    "storage": "存储",
    "token": "API 令牌",
    "user": "用户",
    "vendor": "外部供应方",
    "workdays": "工作日历",
}

ACTIONS = {
    "assessment.deleted": "删除影响评估",
    "assessment.recorded": "登记影响评估",
    "audit.assessed": "评价审计要点",
    "audit.deadline_computed": "计算审计期限",
    "audit.evidence_added": "上传审计证据",
    "audit.opened": "发起合规审计",
    "audit.rectification_added": "登记整改事项",
    "audit.rectification_reviewed": "复核整改",
    "audit.rectified": "报告整改完成",
    "audit.report_signed": "签署审计报告",
    "audit.signed": "签署审计报告",
    "audit.submitted": "报送审计报告",
    "auth.locked": "账户锁定",
    "auth.login": "登录",
    "catalog.approved": "审核通过目录",
    "catalog.created": "新建目录",
    "catalog.edited": "修改目录",
    "catalog.merged": "目录汇入上级",
    "catalog.regraded": "调整安全级别",
    "catalog.returned": "退回目录",
    "catalog.draft_deleted": "删除目录草稿",
    "catalog.submitted": "提交目录审核",
    "catalog.unpublished": "撤回目录",
    "compliance.profile_saved": "保存合规档案",
    "consent.given": "作出同意",
    "consent.withdrawn": "撤回同意",
    "crossborder.assessed": "评估数据出境",
    "crossborder.recipient_marked": "标记境外接收方",
    "dataset.anonymity_checked": "匿名化认定",
    "dataset.derived": "生成派生数据",
    "dataset.loaded": "加载数据",
    "dataset.product_stored": "保存数据产品",
    "dataset.scanned": "识别敏感数据",
    "dataset.tags_confirmed": "确认识别结果",
    "discovery.rules_saved": "保存分级规则",
    "egress.delivered": "提供数据",
    "federation.sent": "向其他节点发出消息",
    "federation.received": "收到其他节点的消息",
    "federation.acknowledged": "其他节点确认收到",
    "federation.join_requested": "节点申请加入",
    "federation.join_approved": "批准节点加入",
    "federation.join_refused": "拒绝节点加入",
    "federation.review_decided": "省级审核下级目录",
    "federation.review_received": "收到省级目录审核结论",
    "egress.traced": "泄露溯源",
    "grant.created": "授予数据使用权",
    "grant.revoked": "撤销数据授权",
    "identity.checked": "核验身份",
    "identity.contact_looked_up": "查询联系方式",
    "incident.deadline_computed": "计算报告期限",
    "incident.facts_updated": "更新事件情况",
    "incident.handled": "事件处置完毕",
    "incident.notified": "通知受影响的个人",
    "incident.recorded": "登记安全事件",
    "incident.reported": "报告安全事件",
    "instrument.issued": "出具文书",
    "instrument.revoked": "撤销文书",
    "market.breach_recorded": "记录违约",
    "market.checked": "可交易性审查",
    "market.contract_accepted": "确认合同",
    "market.delisted": "产品下架",
    "market.dispute_deadline_computed": "计算争议处理期限",
    "market.dispute_raised": "提出争议",
    "market.dispute_resolved": "处理争议",
    "market.dispute_responded": "答复争议",
    "market.fee_schedule_set": "设定收费标准",
    "market.kind_allowed": "解除禁止交易类型",
    "market.kind_prohibited": "设定禁止交易类型",
    "market.listed": "产品挂牌",
    "market.ordered": "下单",
    "market.settled": "结算",
    "open.agreement_signed": "签署开放利用协议",
    "open.applied": "申请开放数据",
    "open.approved": "同意开放申请",
    "open.breach_corrected": "违约已改正",
    "open.breach_fined": "违约处罚",
    "open.breach_recorded": "记录违约",
    "open.complaint_answered": "答复投诉",
    "open.complaint_submitted": "提交投诉",
    "open.correction_deadline_computed": "计算改正期限",
    "open.deadline_computed": "计算答复期限",
    "open.disposal_confirmed": "确认数据处置",
    "open.feedback_given": "反馈使用情况",
    "open.referred": "报数据管理部门",
    "open.refused": "不予开放",
    "open.use_declared": "声明数据用途",
    "operation.authorized": "授权运营",
    "operation.disposal_confirmed": "确认数据处置",
    "operation.expired": "授权运营到期",
    "operation.product_materialized": "生成数据产品",
    "operation.run_failed": "沙箱查询失败",
    "operation.run_passed": "沙箱查询通过",
    "operation.run_refused": "沙箱查询被拒绝",
    "org.created": "新增机构",
    "otp.sent": "发送验证码",
    "privacy.erasure_done": "删除个人信息完成",
    "privacy.erasure_held": "删除因法定保存暂缓",
    "privacy.erasure_queued": "删除个人信息排队",
    "privacy.legal_hold_placed": "设定法定保存",
    "privacy.legal_hold_released": "解除法定保存",
    "privacy.notice_published": "公布个人信息处理规则",
    "privacy.rows_correct": "更正个人信息",
    "privacy.rows_delete": "删除个人信息",
    "procurement.approved": "同意采购需求",
    "procurement.refused": "不同意采购需求",
    "procurement.requested": "提出采购申请",
    "quality.assessed": "质量评估",
    "quality.deadline_computed": "计算整改期限",
    "quality.deadline_set": "设定整改期限",
    "quality.one_source_designated": "指定唯一来源",
    "quality.reported": "生成质量报告",
    "quality.rules_set": "设定质量规则",
    "quality.task_closed": "关闭质量问题",
    "quality.task_opened": "登记质量问题",
    "registration.approved": "登记通过",
    "registration.changed": "变更登记",
    "registration.returned": "退回登记",
    "registration.submitted": "申请登记",
    "rights.answer_amended": "修改答复",
    "rights.answered": "答复权利请求",
    "rights.authorized": "授权使用本人数据",
    "rights.deadline_computed": "计算答复期限",
    "rights.filed": "提出权利请求",
    "rights.handled": "办理权利请求",
    "sharing.applied": "申请共享",
    "sharing.approved": "同意共享",
    "sharing.deadline_computed": "计算答复期限",
    "sharing.effect_reported": "报告应用成效",
    "sharing.error_answered": "答复数据错误",
    "sharing.error_reported": "反馈数据错误",
    "sharing.referred": "报数据管理部门",
    "sharing.refused": "不予共享",
    "signer.key_created": "生成签名密钥",
    "storage.erasure_rewrite": "删除后重写存储文件",
    "storage.resealed": "重新加密",
    "storage.sealed": "加密存储",
    "token.issued": "签发 API 令牌",
    "token.revoked": "撤销 API 令牌",
    "user.created": "新增用户",
    "user.password_reset": "找回密码：重设密码",
    "user.recovery_requested": "找回密码：申请验证码",
    "user.identity_verified": "实名核验",
    "vendor.declared": "登记外部供应方",
    "vendor.ended": "结束外部供应",
    "workdays.year_entered": "录入节假日安排",
    "workdays.year_replaced": "更新节假日安排",
}

SUBJECTS = {
    "agreement": "协议",
    "application": "申请",
    "assessment": "影响评估",
    "audit": "合规审计",
    "complaint": "投诉",
    "consent": "同意记录",
    "delivery": "交付",
    "dispute": "争议",
    "entry": "目录",
    "federated-entry": "下级节点目录",
    "grant": "授权",
    "incident": "安全事件",
    "instrument": "文书",
    "listing": "挂牌",
    "order": "订单",
    "org": "机构",
    "person": "个人",
    "registration": "登记",
    "request": "请求",
    "run": "沙箱查询",
    "task": "质量问题",
    "token": "令牌",
    "user": "用户",
    "version": "数据版本",
    "year": "年度",
}

PAYLOAD = {
    "reason": "理由",
    "comment": "意见",
    "purpose": "用途",
    "scenario": "应用场景",
    "rows": "行数",
    "rows_rejected": "拒绝行数",
    "columns": "字段",
    "version_no": "版本",
    "recipient": "接收方",
    "status": "状态",
    "answer": "答复",
    "title": "名称",
    "name": "名称",
    "text": "内容",
    "deadline": "期限",
    "due_at": "期限",
    "resource_code": "资源代码",
    "code": "编号",
    "format": "格式",
    "result": "结果",
    "outcome": "结论",
    "kind": "类别",
    "amount_yuan": "金额（元）",
    "price_yuan": "价格（元）",
    "basis": "依据",
    "note": "说明",
    "year": "年度",
}


def action_label(action: str) -> str:
    """The event's name, or its namespace's when the event itself is not listed."""
    if action in ACTIONS:
        return ACTIONS[action]
    namespace = action.split(".", 1)[0]
    return f"{NAMESPACES.get(namespace, '其他')}：其他操作"


def subject_label(subject: str | None) -> str:
    """``entry:12`` as "目录 #12" (pages that can look the name up do better)."""
    if not subject:
        return ""
    kind, _, key = subject.partition(":")
    return f"{SUBJECTS.get(kind, '对象')} #{key}" if key else SUBJECTS.get(kind, "对象")


def payload_items(payload: object, values: dict[str, dict] | None = None) -> list[tuple[str, str]]:
    """The payload's labelled fields as (label, text) pairs; unlabelled fields are left to the
    technical record. ``values`` maps a key to labels for its raw values (statuses...)."""
    if not isinstance(payload, dict):
        return []
    out = []
    for key, label in PAYLOAD.items():
        if key not in payload or payload[key] in (None, "", [], {}):
            continue
        value = payload[key]
        if values and key in values and isinstance(value, str):
            value = values[key].get(value, value)
        if isinstance(value, bool):
            value = "是" if value else "否"
        elif isinstance(value, list):
            value = "、".join(str(v) for v in value)
        elif isinstance(value, dict):
            continue
        out.append((label, str(value)))
    return out
