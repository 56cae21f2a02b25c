"""The SEC-11 reporting obligations and their clocks (CLK-1..CLK-4).

Each ``Rule`` says what is reported, to whom, under which article and on which
clock: hours from discovery (CLK-2, through nights and holidays), or working
days from discovery or from the end of handling (CLK-1). ``obligations`` picks
the rules the facts give rise to; ``due`` computes one deadline, or returns why
it cannot (handling not finished, or a year without schedule, CLK-4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gongshu.compliance.errors import BadFacts
from gongshu.compliance.models import GRADES, Incident
from gongshu.workdays import Calendar, ScheduleMissing

GRADE_LABELS = {
    "general": "一般",
    "large": "较大",
    "major": "重大",
    "especially_major": "特别重大",
}
LARGE_PEOPLE = 100_000  # NDSMR 11: 十万人以上个人信息


@dataclass(frozen=True)
class Rule:
    """One reporting obligation: what, to whom, on which clock, under which article."""

    code: str
    title: str
    recipient: str
    basis: str
    hours: int | None = None  # from discovery (CLK-2)
    workdays: int | None = None
    after_handling: bool = False  # working days counted from the end of handling


RULES = {
    r.code: r
    for r in (
        Rule(
            "cyber_1h",
            "网络安全事件报告（1小时内）",
            "属地网信部门（或本部门网信工作机构、保护工作部门、公安机关）",
            "《网络安全事件报告管理办法（征求意见稿）》第四条：较大、重大或特别重大网络安全事件"
            "应当于1小时内进行报告（SEC-11）",
            hours=1,
        ),
        Rule(
            "leak_8h",
            "数据安全事件报告（8小时内）",
            "设区的市级网信部门和有关主管部门",
            "《网络数据安全管理条例（征求意见稿）》第十一条第二款第（一）项：重要数据或者十万人"
            "以上个人信息泄露、毁损、丢失的，八小时内报告事件基本信息（SEC-11）",
            hours=8,
        ),
        Rule(
            "cyber_24h",
            "网络安全事件补报（24小时内）",
            "原报告渠道",
            "《网络安全事件报告管理办法（征求意见稿）》第六条：1小时内不能判定的事发原因、影响"
            "或趋势等，于24小时内补报（SEC-11）",
            hours=24,
        ),
        Rule(
            "pi_72h",
            "个人信息安全事件通知（72小时内）",
            "履行个人信息保护职责的部门和个人",
            "《个人信息保护合规审计参考要点》第二十七条第（二）项：事件发生后72小时内通知履行"
            "个人信息保护职责的部门和个人（SEC-11）",
            hours=72,
        ),
        Rule(
            "notify_3wd",
            "通知利害关系人（3个工作日内）",
            "受影响的个人和组织",
            "《网络数据安全管理条例（征求意见稿）》第十一条第一款：安全事件对个人、组织造成危害"
            "的，三个工作日内通知利害关系人（SEC-10、SEC-11）",
            workdays=3,
        ),
        Rule(
            "leak_5wd",
            "调查评估报告（处置完毕后5个工作日内）",
            "设区的市级网信部门和有关主管部门",
            "《网络数据安全管理条例（征求意见稿）》第十一条第二款第（二）项：事件处置完毕后五个"
            "工作日内报告调查评估报告（SEC-11）",
            workdays=5,
            after_handling=True,
        ),
        Rule(
            "cyber_5wd",
            "事件总结报告（处置结束后5个工作日内）",
            "原报告渠道",
            "《网络安全事件报告管理办法（征求意见稿）》第七条：事件处置结束后5个工作日内形成"
            "总结报告按照原渠道上报（SEC-11）",
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
        raise BadFacts(f"网络安全事件级别无效 (grade)：{grade}")
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


def schedule_warning(year: int, rule: Rule) -> str:
    return (
        f"{year} 年节假日安排尚未录入，无法计算“{rule.title}”的期限（CLK-4）；"
        f"请管理员录入 {year} 年放假调休安排后自动计算，在此之前请尽早报告。"
    )


def due(
    calendar: Calendar, incident: Incident, rule: Rule
) -> tuple[dt.datetime | None, str | None]:
    """The deadline of ``rule`` for ``incident`` and, when it cannot be computed, why."""
    if rule.hours is not None:
        return calendar.hours_deadline(incident.found_at, rule.hours), None  # CLK-2
    start = incident.handled_at if rule.after_handling else incident.found_at
    if start is None:
        return None, "处置结束后起算：请在处置完毕时登记处置结束时间。"
    try:
        return calendar.deadline(start, rule.workdays or 0), None  # CLK-1
    except ScheduleMissing as exc:
        return None, schedule_warning(exc.year, rule)
