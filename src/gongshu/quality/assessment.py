"""Periodic quality assessment (QUA-2) and data resource statistics (GOV-1).

An assessment ranks, from the newest quality report of each published entry:
the entries of one agency, or the agencies of one tier in the authority's
area. It is stored (so the ranking of a period stays as it was) and recorded
in the ledger; the PDF is rendered by ``gongshu.documents``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import TIERS
from gongshu.catalog.models import CatalogEntry
from gongshu.documents import Document, Section, Table, render_pdf
from gongshu.errors import InvalidInput
from gongshu.exchange.supervision import FREQUENCY_DAYS, area_prefix
from gongshu.ledger import record
from gongshu.quality.errors import NotAuthority
from gongshu.quality.models import Assessment, CorrectionTask
from gongshu.quality.rules import DIMENSIONS
from gongshu.quality.service import latest_scores
from gongshu.storage.models import DatasetVersion
from gongshu.timeutil import as_utc, utcnow


def _prefix(actor: User) -> str:
    if actor.org is None or (actor.org.kind != "data_authority" and "admin" not in actor.roles):
        raise NotAuthority("只有数据管理部门可以开展质量评估和资源统计")
    return "" if "admin" in actor.roles else area_prefix(actor.org)


def _entries(session: Session, prefix: str) -> list[CatalogEntry]:
    return [
        e
        for e in session.scalars(
            select(CatalogEntry)
            .where(CatalogEntry.published_version.is_not(None))
            .order_by(CatalogEntry.resource_code)
        )
        if e.region_code.startswith(prefix)
    ]


def assess(session: Session, *, actor: User, scope: str, value: str) -> Assessment:
    """Rank entries of an agency (scope ``agency``, value = org id) or agencies of a tier."""
    prefix = _prefix(actor)
    scores = latest_scores(session)
    open_tasks = dict(
        session.execute(
            select(CorrectionTask.entry_id, func.count())
            .where(CorrectionTask.status == "open")
            .group_by(CorrectionTask.entry_id)
        ).all()
    )
    entries = _entries(session, prefix)
    if scope == "agency":
        org = session.get(Organization, int(value)) if str(value).isdigit() else None
        if org is None or not org.region_code.startswith(prefix):
            raise InvalidInput(f"评估对象不在本辖区：{value}")
        label = org.name
        rows = [
            {
                "name": e.name,
                "code": e.resource_code,
                "score": scores.get(e.id),
                "open_tasks": open_tasks.get(e.id, 0),
            }
            for e in entries
            if e.provider_org_id == org.id
        ]
    elif scope == "tier":
        if value not in TIERS:
            raise InvalidInput(f"层级无效：{value}")
        label = TIERS[value]
        by_org: dict[int, list[CatalogEntry]] = {}
        for e in entries:
            if e.tier == value:
                by_org.setdefault(e.provider_org_id, []).append(e)
        rows = []
        for org_id, es in by_org.items():
            scored = [scores[e.id] for e in es if e.id in scores]
            rows.append(
                {
                    "name": session.get(Organization, org_id).name,
                    "entries": len(es),
                    "assessed": len(scored),
                    "score": round(sum(scored) / len(scored), 2) if scored else None,
                    "open_tasks": sum(open_tasks.get(e.id, 0) for e in es),
                }
            )
    else:
        raise InvalidInput(f"评估范围须为部门或层级：{scope}")
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["name"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    result = Assessment(
        scope=scope, scope_value=label, area_prefix=prefix, ranking=rows, actor=actor.actor
    )
    session.add(result)
    session.flush()
    record(
        session,
        "quality.assessed",
        actor=actor.actor,
        subject=f"quality_assessment:{result.id}",
        payload={"scope": scope, "value": label, "ranking": rows},
    )
    return result


def assessment_pdf(result: Assessment) -> bytes:
    header = ["名次", "名称", "质量得分", "未关闭整改任务"]
    rows = [
        [r["rank"], r["name"], "未评估" if r["score"] is None else r["score"], r["open_tasks"]]
        for r in result.ranking
    ]
    doc = Document(
        title="公共数据质量评估报告",
        facts=[
            ("评估范围", ("部门：" if result.scope == "agency" else "层级：") + result.scope_value),
            ("评估人", result.actor),
            ("评估维度", "、".join(DIMENSIONS.values())),
        ],
        sections=[
            Section(
                "排名",
                paragraphs=["得分取各目录最新数据版本质量报告的总分（五个维度得分的平均）。"],
                tables=[Table(header, rows)],
            )
        ],
        generated_at=as_utc(result.created_at),
        reference=f"质量评估 {result.id}",
    )
    return render_pdf(doc)


@dataclass
class AgencyStats:
    org: str
    entries: int = 0
    fields: int = 0
    rows: int = 0
    sharing: dict = None  # type: ignore[assignment]
    opening: dict = None  # type: ignore[assignment]
    grades: dict = None  # type: ignore[assignment]
    fresh: int = 0
    stale: int = 0
    no_data: int = 0
    score: float | None = None

    def __post_init__(self) -> None:
        self.sharing, self.opening, self.grades = {}, {}, {}


def statistics(session: Session, *, actor: User, tier: str | None = None) -> list[AgencyStats]:
    """Data resource statistics per agency for a tier in the authority's area (GOV-1)."""
    prefix = _prefix(actor)
    scores = latest_scores(session)
    latest = dict(
        session.execute(
            select(DatasetVersion.entry_id, func.max(DatasetVersion.id)).group_by(
                DatasetVersion.entry_id
            )
        ).all()
    )
    now = utcnow()
    out: dict[int, AgencyStats] = {}
    scored: dict[int, list[float]] = {}
    for e in _entries(session, prefix):
        if tier and e.tier != tier:
            continue
        s = out.setdefault(e.provider_org_id, AgencyStats(e.provider.name))
        s.entries += 1
        s.fields += len(e.fields)
        s.sharing[e.sharing_attr] = s.sharing.get(e.sharing_attr, 0) + 1
        s.opening[e.opening_attr] = s.opening.get(e.opening_attr, 0) + 1
        s.grades[e.security_grade] = s.grades.get(e.security_grade, 0) + 1
        version = session.get(DatasetVersion, latest[e.id]) if e.id in latest else None
        if version is None:
            s.no_data += 1
        else:
            s.rows += version.rows
            allowed = FREQUENCY_DAYS.get(e.update_frequency)
            age = (now - as_utc(version.created_at)).days
            if allowed is not None and age > allowed:
                s.stale += 1
            else:
                s.fresh += 1
        if e.id in scores:
            scored.setdefault(e.provider_org_id, []).append(scores[e.id])
    for org_id, values in scored.items():
        out[org_id].score = round(sum(values) / len(values), 2)
    return sorted(out.values(), key=lambda s: s.org)


STAT_HEADER = [
    "部门",
    "目录数",
    "信息项数",
    "数据行数",
    "无条件共享",
    "有条件共享",
    "不予共享",
    "无条件开放",
    "有条件开放",
    "不予开放",
    "按时更新",
    "超期未更新",
    "尚无数据",
    "质量得分",
    "安全级别",
]


def statistics_rows(stats: list[AgencyStats]) -> list[list[object]]:
    attrs = ("unconditional", "conditional", "none")
    return [
        [
            s.org,
            s.entries,
            s.fields,
            s.rows,
            *(s.sharing.get(a, 0) for a in attrs),
            *(s.opening.get(a, 0) for a in attrs),
            s.fresh,
            s.stale,
            s.no_data,
            "" if s.score is None else s.score,
            "；".join(f"{g}:{n}" for g, n in sorted(s.grades.items())),
        ]
        for s in stats
    ]
