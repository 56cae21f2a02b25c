"""The obligations register: from who an organization is, every obligation that applies
(OBL-1..OBL-5, SEC-2, SEC-6, SEC-7, SEC-8, AUD-1, AUD-7, PIP-8, XBR-4), with due dates
from the one clock and the rule cited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.compliance.models import ComplianceProfile
from gongshu.errors import InvalidField
from gongshu.ledger import record
from gongshu.timeutil import utcnow
from gongshu.workdays import Calendar, ScheduleMissing, beijing_date, schedule_warning

PLATFORM_CLASSES = {
    "sales": "网络销售类",
    "life": "生活服务类",
    "social": "社交娱乐类",
    "information": "信息资讯类",
    "finance": "金融服务类",
    "computing": "计算应用类",
}
LEVELS = {"super": "超级平台", "large": "大型平台", "small_medium": "中小平台"}
SERVICES = {
    "algorithm_opinion": "具有舆论属性或社会动员能力的算法推荐服务",
    "deep_synthesis": "深度合成服务",
    "generative_ai": "生成式人工智能服务",
    "app": "移动互联网应用程序",
    "games": "网络游戏出版经营",
    "payments": "非银行支付服务",
}


@dataclass
class Profile:
    kind: str = "agency"
    platform_classes: list[str] = field(default_factory=list)
    users: int = 0  # yearly active users in China (OBL-1)
    market_value_yi: int = 0  # market value, 亿元 (100 million CNY)
    people: int = 0  # people whose personal information it processes
    sensitive_people: int = 0
    ciio: bool = False
    important_data: bool = False
    important_identified_on: dt.date | None = None
    provides_abroad: bool = False
    services: list[str] = field(default_factory=list)
    service_started_on: dt.date | None = None

    def __post_init__(self) -> None:
        for name in ("users", "market_value_yi", "people", "sensitive_people"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidField(f"数量必须是不小于 0 的整数，收到 {v!r}", field=name)
        problems = {}
        bad = [c for c in self.platform_classes if c not in PLATFORM_CLASSES]
        if bad:
            problems["platform_classes"] = f"平台类别无效：{'、'.join(bad)}"
        bad = [s for s in self.services if s not in SERVICES]
        if bad:
            problems["services"] = f"服务无效：{'、'.join(bad)}"
        if problems:
            raise InvalidField.of(problems)

    def as_json(self) -> dict:
        out = dict(self.__dict__)
        for k in ("important_identified_on", "service_started_on"):
            out[k] = out[k].isoformat() if out[k] else None
        return out

    @classmethod
    def from_json(cls, raw: dict) -> Profile:
        data = dict(raw)
        for k in ("important_identified_on", "service_started_on"):
            data[k] = dt.date.fromisoformat(data[k]) if data.get(k) else None
        return cls(**data)


def platform_level(p: Profile) -> str | None:
    """OBL-1: super (5亿 users, two or more classes, 1万亿 CNY), large (5000万, 1000亿), else
    small and medium; None when the organization runs no internet platform."""
    if not p.platform_classes:
        return None
    if p.users >= 500_000_000 and len(p.platform_classes) >= 2 and p.market_value_yi >= 10_000:
        return "super"
    if p.users >= 50_000_000 and p.market_value_yi >= 1_000:
        return "large"
    return "small_medium"


@dataclass
class Obligation:
    code: str
    title: str
    rule: str
    due: dt.date | None = None
    due_note: str | None = None


def _next_jan31(today: dt.date) -> dt.date:
    this = dt.date(today.year, 1, 31)
    return this if today <= this else dt.date(today.year + 1, 1, 31)


def _workdays_due(
    calendar: Calendar, start: dt.date | None, n: int, what: str
) -> tuple[dt.date | None, str | None]:
    if start is None:
        return None, f"请填写{what}日期，以计算 {n} 个工作日的期限。"
    try:
        return calendar.add_workdays(start, n), None  # CLK-1: from the next day
    except ScheduleMissing as exc:
        return None, schedule_warning(exc.year, what="期限", basis=f"{what}后 {n} 个工作日")


def register(
    session: Session, p: Profile, *, org_id: int | None = None, today: dt.date | None = None
) -> list[Obligation]:
    """Every obligation of REQUIREMENTS.md that applies to the profile, with due dates."""
    from gongshu.compliance import audits

    today = today or beijing_date(utcnow())
    calendar = Calendar(session)
    out: list[Obligation] = []
    level = platform_level(p)
    important_rules = p.important_data or p.people >= 1_000_000
    if p.people > 0:
        due, note = (None, None)
        if org_id is not None:
            due, note = audits.next_due(session, org_id, p.people)
        out.append(
            Obligation(
                "AUD-1",
                "每年至少一次个人信息保护合规审计"
                if p.people > 1_000_000
                else "每二年至少一次个人信息保护合规审计",
                "《个人信息保护合规审计管理办法（征求意见稿）》第四条",
                due,
                note,
            )
        )
        out.append(
            Obligation(
                "SEC-7",
                "个人同意记录、提供个人信息的日志记录保存至少五年",
                "《网络数据安全管理条例（征求意见稿）》第十二条第（三）项",
            )
        )
    if p.people >= 1_000_000:
        out.append(
            Obligation(
                "OBL-3",
                "处理一百万人以上个人信息，同时遵守重要数据处理者的规定",
                "《网络数据安全管理条例（征求意见稿）》第二十六条",
            )
        )
    if p.sensitive_people > 0:
        out.append(
            Obligation(
                "PIP-8",
                "处理敏感个人信息、向他人提供等活动前开展个人信息保护影响评估，报告保存至少三年",
                "《个人信息保护合规审计参考要点》第六、八、九、十、十三、二十五条",
            )
        )
    if p.important_data:
        due, note = _workdays_due(calendar, p.important_identified_on, 15, "识别重要数据")
        out.append(
            Obligation(
                "SEC-2",
                "识别重要数据后十五个工作日内向设区的市级网信部门备案",
                "《网络数据安全管理条例（征求意见稿）》第二十九条",
                due,
                note,
            )
        )
        out.append(
            Obligation(
                "SEC-8",
                "共享、交易、委托处理重要数据须征得主管部门同意",
                "《网络数据安全管理条例（征求意见稿）》第三十三条",
            )
        )
    if important_rules:
        out.append(
            Obligation(
                "SEC-6",
                "每年开展数据安全评估，1月31日前报送上一年度报告；风险评估报告保存至少三年",
                "《网络数据安全管理条例（征求意见稿）》第三十二条",
                _next_jan31(today),
            )
        )
    if p.provides_abroad:
        out.append(
            Obligation(
                "XBR-4",
                "每年1月31日前报告上一年度数据出境情况；日志和审批记录保存三年以上",
                "《网络数据安全管理条例（征求意见稿）》第三十九条、第四十条",
                _next_jan31(today),
            )
        )
    if level in ("large", "super") or p.users > 50_000_000:
        out += [
            Obligation(
                "OBL-2",
                "成立主要由外部成员组成的独立机构监督个人信息保护；制定平台规则；监督平台内产品或服务提供者",
                "《个人信息保护法》第五十八条；《个人信息保护合规审计参考要点》第二十八至三十条",
            ),
            Obligation(
                "AUD-7",
                "每年发布个人信息保护社会责任报告；每年委托第三方审计并披露结果",
                "《个人信息保护合规审计参考要点》第三十一条；《网络数据安全管理条例（征求意见稿）》第五十三条",
                dt.date(today.year, 12, 31),
            ),
        ]
    if "algorithm_opinion" in p.services:
        due, note = _workdays_due(calendar, p.service_started_on, 10, "开始提供服务")
        out.append(
            Obligation(
                "OBL-4",
                "具有舆论属性或社会动员能力的算法推荐服务，提供服务之日起十个工作日内履行备案手续",
                "《互联网信息服务算法推荐管理规定》第二十四条",
                due,
                note,
            )
        )
    five = {
        "deep_synthesis": (
            "对深度合成内容添加标识，履行算法备案",
            "《互联网信息服务深度合成管理规定》",
        ),
        "generative_ai": (
            "生成内容标识；具有舆论属性的开展安全评估并履行算法备案",
            "《生成式人工智能服务管理暂行办法》第十二条、第十七条",
        ),
        "app": ("移动互联网应用程序备案", "APP备案相关规定"),
        "games": (
            "取得网络出版服务许可，落实实名注册、防沉迷，每年提交年度报告",
            "《网络游戏管理办法（草案征求意见稿）》第六条、第二十二条、第四十七条",
        ),
        "payments": ("非银行支付机构监督管理要求", "非银行支付服务相关规定"),
    }
    for key, (title, rule) in five.items():
        if key in p.services:
            out.append(Obligation("OBL-5", f"{SERVICES[key]}：{title}", rule))
    return out


def get_profile(session: Session, org_id: int) -> Profile | None:
    row = session.scalar(select(ComplianceProfile).where(ComplianceProfile.org_id == org_id))
    return Profile.from_json(row.facts) if row else None


def save_profile(
    session: Session, org_id: int, profile: Profile, *, actor: User
) -> ComplianceProfile:
    row = session.scalar(select(ComplianceProfile).where(ComplianceProfile.org_id == org_id))
    if row is None:
        row = ComplianceProfile(org_id=org_id, updated_by=actor.actor)
        session.add(row)
    row.facts, row.updated_by, row.updated_at = profile.as_json(), actor.actor, utcnow()
    session.flush()
    record(
        session,
        "compliance.profile_saved",
        actor=actor.actor,
        subject=f"org:{org_id}",
        payload=row.facts,
    )
    return row
