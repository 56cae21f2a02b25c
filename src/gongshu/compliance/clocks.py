"""The SEC-11 reporting obligations and their clocks (CLK-1..CLK-4).

Each ``Rule`` says what is reported, to whom, under which article and on which
clock: hours (CLK-2, through nights and holidays) or working days (CLK-1), from
the moment the rule's text names: the occurrence (NDSMR 11's 8 hours, "在发生安全
事件的八小时内"; PIA-A point 27's 72 hours, "事件发生后72小时内"), the discovery
(the incident measures' 1 and 24 hours, and the 3 working days of NDSMR 11, which
name no start), or the end of handling (the 5 working days). ``obligations`` picks
the rules the facts give rise to. ``CLOCKS`` declares the report clocks and the
ordered audit's 90 working days for the lifecycle in ``gongshu.workdays``, which
computes each deadline, or says why it cannot (handling not finished, or a year
without schedule, CLK-4), and fills it in once it can.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization
from gongshu.compliance.errors import BadFacts
from gongshu.compliance.models import GRADES, AuditEngagement, Incident, IncidentReport
from gongshu.workdays import ClockSpec, Period

GRADE_LABELS = {
    "general": "一般",
    "large": "较大",
    "major": "重大",
    "especially_major": "特别重大",
}
LARGE_PEOPLE = 100_000  # NDSMR 11: 十万人以上个人信息
ORDERED_WORKDAYS = 90  # AUD-2 (PIA-A art. 9)


@dataclass(frozen=True)
class Rule:
    """One reporting obligation: what, to whom, on which clock, under which article."""

    code: str
    title: str
    recipient: str
    basis: str
    hours: int | None = None  # from ``start`` (CLK-2)
    workdays: int | None = None
    after_handling: bool = False  # working days counted from the end of handling
    # The moment the clock runs from, as the rule's text names it: "occurred" (发生)
    # or "found" (发现); ignored when ``after_handling``.
    start: str = "found"


RULES = {
    r.code: r
    for r in (
        Rule(
            "cyber_1h",
            "网络安全事件报告（1小时内）",
            "属地网信部门（或本部门网信工作机构、保护工作部门、公安机关）",
            "《网络安全事件报告管理办法（征求意见稿）》第四条：较大、重大或特别重大网络安全事件"
            "应当于1小时内进行报告",
            hours=1,
        ),
        Rule(
            "leak_8h",
            "数据安全事件报告（8小时内）",
            "设区的市级网信部门和有关主管部门",
            "《网络数据安全管理条例（征求意见稿）》第十一条第二款第（一）项：重要数据或者十万人"
            "以上个人信息泄露、毁损、丢失的，八小时内报告事件基本信息",
            hours=8,
            start="occurred",  # 在发生安全事件的八小时内
        ),
        Rule(
            "cyber_24h",
            "网络安全事件补报（24小时内）",
            "原报告渠道",
            "《网络安全事件报告管理办法（征求意见稿）》第六条：1小时内不能判定的事发原因、影响"
            "或趋势等，于24小时内补报",
            hours=24,
        ),
        Rule(
            "pi_72h",
            "个人信息安全事件通知（72小时内）",
            "履行个人信息保护职责的部门和个人",
            "《个人信息保护合规审计参考要点》第二十七条第（二）项：事件发生后72小时内通知履行"
            "个人信息保护职责的部门和个人",
            hours=72,
            start="occurred",  # 事件发生后72小时内
        ),
        Rule(
            "notify_3wd",
            "通知利害关系人（3个工作日内）",
            "受影响的个人和组织",
            "《网络数据安全管理条例（征求意见稿）》第十一条第一款：安全事件对个人、组织造成危害"
            "的，三个工作日内通知利害关系人",
            workdays=3,
        ),
        Rule(
            "leak_5wd",
            "调查评估报告（处置完毕后5个工作日内）",
            "设区的市级网信部门和有关主管部门",
            "《网络数据安全管理条例（征求意见稿）》第十一条第二款第（二）项：事件处置完毕后五个"
            "工作日内报告调查评估报告",
            workdays=5,
            after_handling=True,
        ),
        Rule(
            "cyber_5wd",
            "事件总结报告（处置结束后5个工作日内）",
            "原报告渠道",
            "《网络安全事件报告管理办法（征求意见稿）》第七条：事件处置结束后5个工作日内形成"
            "总结报告按照原渠道上报",
            workdays=5,
            after_handling=True,
        ),
    )
}


def obligations(
    *, grade: str, personal_info: bool, important_data: bool, people_affected: int, harm_done: bool
) -> list[Rule]:
    """Every SEC-11 reporting obligation the facts give rise to, in clock order."""
    if grade not in GRADES:
        raise BadFacts(f"网络安全事件级别无效：{grade}")
    codes: list[str] = []
    cyber = grade in ("large", "major", "especially_major")
    big_leak = important_data or (personal_info and people_affected >= LARGE_PEOPLE)
    if cyber:
        codes.append("cyber_1h")
    if big_leak:
        codes.append("leak_8h")
    if cyber:
        codes.append("cyber_24h")
    if personal_info:
        codes.append("pi_72h")
    if harm_done:
        codes.append("notify_3wd")
    if big_leak:
        codes.append("leak_5wd")
    if cyber:
        codes.append("cyber_5wd")
    return [RULES[c] for c in codes]


def _report_start(report: IncidentReport) -> dt.datetime | None:
    incident = report.incident
    rule = RULES[report.code]
    if rule.after_handling:
        return incident.handled_at
    if rule.start == "occurred":
        return incident.occurred_at or incident.found_at
    return incident.found_at


def _report_period(_session: Session, report: IncidentReport) -> Period:
    rule = RULES[report.code]
    if rule.hours is not None:
        return Period(hours=rule.hours)  # CLK-2: from the moment it happened or was found
    return Period(workdays=rule.workdays or 0)  # CLK-1


def _org_in(area: str):  # noqa: ANN202
    return select(Organization.id).where(Organization.region_code.startswith(area))


INCIDENT_REPORTS = ClockSpec(
    name="incident_report",
    model=IncidentReport,
    start=_report_start,
    deadline="due_at",
    warning="due_warning",
    period=_report_period,
    basis="网络安全事件报告时限",
    what=lambda report: f"“{RULES[report.code].title}”的期限",
    note="在此之前请尽早报告",
    no_start="处置结束后起算：请在处置完毕时登记处置结束时间。",
    open_when=lambda: IncidentReport.submitted_at.is_(None),
    region=lambda area: IncidentReport.incident_id.in_(
        select(Incident.id).where(Incident.org_id.in_(_org_in(area)))
    ),
    action="incident.deadline_computed",
    subject=lambda report: f"incident:{report.incident_id}",
    payload=lambda report: {"code": report.code, "due_at": report.due_at},
)

ORDERED_AUDIT = ClockSpec(
    name="audit",
    model=AuditEngagement,
    start="notified_at",
    deadline="due_at",
    warning="due_warning",
    period=Period(workdays=ORDERED_WORKDAYS),
    basis=f"收到通知后 {ORDERED_WORKDAYS} 个工作日",
    what="审计完成期限",
    open_when=lambda: and_(
        AuditEngagement.trigger == "ordered", AuditEngagement.signed_at.is_(None)
    ),
    region=lambda area: AuditEngagement.subject_org_id.in_(_org_in(area)),
    action="audit.deadline_computed",
)

CLOCKS = (INCIDENT_REPORTS, ORDERED_AUDIT)
