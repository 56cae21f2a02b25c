"""Reports for authorities, generated from the records as ``gongshu.documents.Document``:
incident reports (SEC-11, SEC-12), the audit report (AUD-3), the export report (XBR-4),
the yearly data security assessment (SEC-6) and the social responsibility report (AUD-7).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization
from gongshu.compliance import audits, crossborder, framework, rectification
from gongshu.compliance.incidents import GRADE_LABELS, RULES, on_time
from gongshu.compliance.models import (
    AuditEngagement,
    ImpactAssessment,
    Incident,
    IncidentReport,
)
from gongshu.documents import Document, Section, Table
from gongshu.timeutil import BEIJING, as_utc
from gongshu.workdays import end_of_day


def _bj(value: dt.datetime | None) -> str:
    return "—" if value is None else f"{as_utc(value).astimezone(BEIJING):%Y-%m-%d %H:%M}"


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def incident_report(incident: Incident, report: IncidentReport) -> Document:
    """The report for the authority with every field of SEC-12 (incident measures art. 5)."""
    rule = RULES[report.code]
    ransom = "无"
    if incident.ransom_amount or incident.ransom_method:
        ransom = (
            f"金额：{incident.ransom_amount or '—'}；方式：{incident.ransom_method or '—'}；"
            f"日期：{incident.ransom_date or '—'}"
        )
    return Document(
        title=f"{rule.title}：{incident.title}",
        reference=f"incident:{incident.id}/{report.code}",
        facts=[
            ("报送对象", rule.recipient),
            ("依据", rule.basis),
            ("报告期限", _bj(report.due_at) if report.due_at else (report.due_warning or "—")),
            ("事发单位", incident.org.name),
            ("发生事件的设施、系统、平台", incident.system),
            ("发生时间", _bj(incident.occurred_at or incident.found_at)),
            ("发现时间", _bj(incident.found_at)),
            ("发现地点", incident.place or "—"),
            ("事件类型", incident.kind),
            ("事件级别", GRADE_LABELS[incident.grade]),
            (
                "涉及个人信息 / 重要数据",
                f"{_yes(incident.personal_info)} / {_yes(incident.important_data)}",
            ),
            ("受影响人数", f"{incident.people_affected:,}"),
        ],
        sections=[
            Section("已造成的影响和危害", [incident.harm or "—"]),
            Section("已采取的措施及效果", [incident.measures or "—"]),
            Section("勒索情况（赎金金额、方式、日期）", [ransom]),
            Section("事态发展趋势及可能进一步造成的影响", [incident.trend or "—"]),
            Section("初步分析的事件原因", [incident.cause or "—"]),
            Section(
                "进一步调查分析所需的线索",
                [
                    f"可能的攻击者：{incident.clue_attacker or '—'}",
                    f"攻击路径：{incident.clue_path or '—'}",
                    f"存在的漏洞：{incident.clue_vulnerability or '—'}",
                ],
            ),
            Section(
                "拟进一步采取的应对措施以及请求支援事项",
                [incident.further_measures or "—", f"请求支援：{incident.help_needed or '—'}"],
            ),
            Section("事件现场的保护情况", [incident.scene_protection or "—"]),
            Section(
                "通知受影响个人的情况",
                [],
                [
                    Table(
                        ["时间", "方式", "人数", "内容"],
                        [
                            [_bj(n.notified_at), n.channel, n.recipients, n.text]
                            for n in incident.notifications
                        ],
                    )
                ],
            ),
            Section(
                "处置情况",
                [
                    f"处置结束时间：{_bj(incident.handled_at)}"
                    if incident.handled_at
                    else "处置尚未结束。"
                ],
            ),
        ],
    )


def audit_report(session: Session, audit: AuditEngagement) -> Document:
    """The compliance audit report, signed by the audit lead and the institution head (AUD-3)."""
    done = audits.results(session, audit.id)
    rows = []
    for node in framework.nodes():
        p = int(node["ref_id"])
        if not node["assessable"]:
            continue
        r = done.get(p)
        rows.append(
            [
                f"第{p}条 {node['name']}",
                audits.RESULT_LABELS[r.result] if r else "未评价",
                (r.findings if r else "") or "—",
            ]
        )
    fixes = [
        [
            f"第{i.point}条",
            i.text,
            i.owner,
            i.due_on.isoformat(),
            "已复核通过"
            if i.review_ok
            else ("复核未通过" if i.review_ok is False else ("待复核" if i.done_at else "整改中")),
        ]
        for i in rectification.rectifications(session, audit.id)
    ]
    counts = {k: sum(1 for r in done.values() if r.result == k) for k in audits.RESULT_LABELS}
    return Document(
        title="个人信息保护合规审计报告",
        reference=f"audit:{audit.id}",
        facts=[
            ("被审计单位", audit.subject.name),
            ("审计类型", "按监管部门要求" if audit.trigger == "ordered" else "自行开展"),
            ("实施机构", audit.institution.name if audit.institution else "本单位内部机构"),
            ("审计框架", "个人信息保护合规审计参考要点（31条）"),
            ("审计范围", audit.scope or "全部参考要点"),
            ("完成期限", _bj(audit.due_at) if audit.due_at else (audit.due_warning or "—")),
            ("结论汇总", "；".join(f"{audits.RESULT_LABELS[k]} {v} 条" for k, v in counts.items())),
        ],
        sections=[
            Section("各参考要点审计结论", [], [Table(["参考要点", "结论", "发现的问题"], rows)]),
            Section(
                "整改建议与整改情况",
                [],
                [Table(["要点", "整改事项", "责任人", "期限", "状态"], fixes)],
            ),
        ],
        signatures=[
            ("合规审计负责人", audit.signed_lead or "（未签署）"),
            (
                "专业机构负责人",
                audit.signed_head
                or ("（未签署）" if audit.conductor == "institution" else "不适用"),
            ),
            ("签署时间", _bj(audit.signed_at)),
            ("报告哈希（SM3，SM2 签名所签）", audit.report_sm3 or "（未签署）"),
            ("报送时间", _bj(audit.submitted_at) if audit.submitted_at else "（未报送）"),
            ("专业机构公章", "（盖章）" if audit.conductor == "institution" else "不适用"),
        ],
    )


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return end_of_day(dt.date(year - 1, 12, 31)), end_of_day(dt.date(year, 12, 31))


def export_report(session: Session, org_id: int, year: int) -> Document:
    """The yearly data export report, due 31 January of the next year (XBR-4)."""
    org = session.get(Organization, org_id)
    start, end = _year_bounds(year)
    found = crossborder.deliveries_abroad(session, org_id, start, end)
    rows = [
        [
            d["recipient"].org.name,
            d["recipient"].country,
            d["recipient"].contact or "—",
            d["entry"].name,
            d["delivery"].rows,
            d["delivery"].purpose,
            _bj(d["delivery"].created_at),
        ]
        for d in found
    ]
    incidents = _incidents(session, org_id, start, end)
    return Document(
        title=f"{year}年度数据出境安全报告",
        reference=f"export:{org_id}:{year}",
        facts=[
            ("数据处理者", org.name if org else str(org_id)),
            ("报告期间", f"{year}年1月1日至12月31日"),
            ("报送期限", f"{year + 1}年1月31日前，报设区的市级网信部门"),
            ("出境交付次数", str(len(found))),
            ("出境个人信息记录数", f"{sum(d['personal_rows'] for d in found):,}"),
            ("其中敏感个人信息记录数", f"{sum(d['sensitive_rows'] for d in found):,}"),
        ],
        sections=[
            Section(
                "全部数据接收方、出境数据的类型、数量及目的",
                ["数据来自平台出口的交付记录；记录数为交付行数，同一人多次交付会重复计数。"],
                [Table(["接收方", "国家或地区", "联系方式", "数据", "行数", "目的", "时间"], rows)],
            ),
            Section("发生的数据安全事件及其处置情况", [], [incidents]),
            Section("说明", [crossborder.JUDICIAL_NOTE, crossborder.CONSENT_NOTE]),
        ],
    )


def _incidents(session: Session, org_id: int, start: dt.datetime, end: dt.datetime) -> Table:
    rows = []
    for inc in session.scalars(select(Incident).where(Incident.org_id == org_id)):
        if not (start <= as_utc(inc.found_at) < end):
            continue
        late = sum(1 for r in inc.reports if on_time(r) is False)
        rows.append(
            [
                _bj(inc.found_at),
                inc.title,
                GRADE_LABELS[inc.grade],
                f"{len(inc.reports)} 项，逾期 {late} 项",
                _bj(inc.handled_at),
            ]
        )
    return Table(["发现时间", "事件", "级别", "报告义务", "处置结束"], rows)


def security_assessment_report(session: Session, org_id: int, year: int) -> Document:
    """The yearly data security assessment report, due 31 January (SEC-6; NDSMR 32)."""
    from gongshu.compliance.evidence import approvals_recorded

    org = session.get(Organization, org_id)
    start, end = _year_bounds(year)
    grants = approvals_recorded(session, org_id=org_id, start=start, end=end)
    return Document(
        title=f"{year}年度数据安全评估报告",
        reference=f"security:{org_id}:{year}",
        facts=[
            ("数据处理者", org.name if org else str(org_id)),
            ("报送期限", f"{year + 1}年1月31日前，报设区的市级网信部门"),
            ("保存期限", "风险评估报告至少保存三年"),
        ],
        sections=[
            Section(
                "一、处理重要数据的情况；六、共享、交易、委托处理、向境外提供重要数据的情况",
                [grants["summary"]],
                [
                    Table(
                        ["授权", "说明", "审批与账本记录"],
                        [[r["id"], r["label"], r["detail"]] for r in grants["records"]],
                    )
                ],
            ),
            Section(
                "五、发生的数据安全事件及其处置情况", [], [_incidents(session, org_id, start, end)]
            ),
            Section(
                "三、安全防护措施",
                ["数据经统一出口交付：授权核验、脱敏、水印、账本记录。"],
            ),
        ],
    )


def social_responsibility_report(session: Session, org_id: int, year: int) -> Document:
    """The yearly personal-information social responsibility report (AUD-7; PIA-A point 31)."""
    from gongshu.compliance.evidence import live

    org = session.get(Organization, org_id)
    start, end = _year_bounds(year)
    assessments = session.scalars(
        select(ImpactAssessment).where(ImpactAssessment.org_id == org_id)
    ).all()
    rights = live(session, 18, org_id=org_id, start=start, end=end)[0]
    return Document(
        title=f"{year}年度个人信息保护社会责任报告",
        reference=f"responsibility:{org_id}:{year}",
        facts=[("个人信息处理者", org.name if org else str(org_id)), ("报告期间", f"{year}年")],
        sections=[
            Section(
                "（三）个人信息保护措施和成效",
                [f"个人信息保护影响评估 {len(assessments)} 份。"],
                [
                    Table(
                        ["处理活动", "评估日期", "结论"],
                        [
                            [a.activity, a.assessed_on.isoformat(), a.conclusion]
                            for a in assessments
                        ],
                    )
                ],
            ),
            Section(
                "（四）个人行使权利的申请受理情况",
                [rights.get("summary") or rights.get("note", "")],
            ),
            Section(
                "（六）重大个人信息安全事件处理情况", [], [_incidents(session, org_id, start, end)]
            ),
        ],
    )
