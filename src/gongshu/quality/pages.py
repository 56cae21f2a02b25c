"""Quality pages: rules of an entry, a version's report, the provider's correction
queue, and the data authority's supervision, duplicates, assessments and statistics."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts import jurisdiction
from gongshu.accounts.deps import requires
from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import CATALOG_READ, QUALITY_ASSESS, QUALITY_MANAGE, TIERS
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.catalog.errors import EntryNotFound
from gongshu.errors import GongshuError, InvalidInput
from gongshu.opendata import service as open_service
from gongshu.quality import assessment, corrections, onesource, service
from gongshu.quality.models import Assessment
from gongshu.quality.rules import DIMENSIONS, EXPECTATIONS
from gongshu.web.deps import SessionDep
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
TASK_STATUS = {"open": "待整改", "fixed": "已整改", "confirmed": "经核实无误"}
CTX = {"D": DIMENSIONS, "E": EXPECTATIONS, "TS": TASK_STATUS}


def entry_panel(session, entry, user) -> dict:  # noqa: ANN001
    """The quality section of the catalog entry page (``Capability.entry_sections``)."""
    return {"template": "_quality_entry.html", "data": entry_section(session, entry)}


def entry_section(session, entry) -> dict:  # noqa: ANN001
    """What the catalog entry page shows about quality: trend and the newest report."""
    reports = service.reports_of(session, entry.id)
    return {
        "trend": service.trend(session, entry.id),
        "latest": reports[-1] if reports else None,
        "dimensions": DIMENSIONS,
    }


def _visible(session, entry_id: int, user: User):  # noqa: ANN001, ANN202
    entry = catalog.get(session, entry_id)
    if not catalog_search.can_see(entry, user):
        raise EntryNotFound(f"目录不存在：{entry_id}")
    return entry


@pages.get("/quality/reports/{report_id}")
def report_page(
    request: Request,
    report_id: int,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
) -> Response:
    report = service.get_report(session, report_id)
    entry = _visible(session, report.entry_id, user)
    return render(request, "quality_report.html", entry=entry, report=report, **CTX)


def _rules_page(request: Request, session, entry, **extra) -> Response:  # noqa: ANN001, ANN003
    current = service.current_rules(session, entry.id)
    text = extra.pop("text", None)
    if text is None:
        text = json.dumps(current.rules if current else [], ensure_ascii=False, indent=1)
    return render(
        request,
        "quality_rules.html",
        entry=entry,
        current=current,
        history=service.rule_history(session, entry.id),
        text=text,
        **CTX,
        **extra,
    )


@pages.get("/quality/entries/{entry_id}/rules")
def rules_form(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_MANAGE)],
) -> Response:
    return _rules_page(request, session, _visible(session, entry_id, user))


@pages.post("/quality/entries/{entry_id}/rules")
def rules_save(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_MANAGE)],
    rules: FormStr,
    reason: FormStr = "",
) -> Response:
    entry = _visible(session, entry_id, user)
    try:
        parsed = json.loads(rules)
        if not isinstance(parsed, list):
            raise InvalidInput("规则须为 JSON 数组")
        with session.begin_nested():
            service.update_rules(session, entry.id, parsed, actor=user, reason=reason)
    except json.JSONDecodeError as exc:
        return _rules_page(request, session, entry, text=rules, error=f"规则不是有效的 JSON：{exc}")
    except GongshuError as exc:
        return _rules_page(request, session, entry, text=rules, error=str(exc))
    return RedirectResponse(f"/quality/entries/{entry.id}/rules?saved=1", status_code=303)


@pages.get("/quality/tasks")
def task_queue(
    request: Request, session: SessionDep, user: Annotated[User, requires(QUALITY_MANAGE)]
) -> Response:
    tasks = corrections.queue(session, user)
    return render(request, "quality_tasks.html", tasks=tasks, **CTX)


@pages.post("/quality/tasks/{task_id}/resolve")
def task_resolve(
    request: Request,
    task_id: int,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_MANAGE)],
    status: FormStr,
    reason: FormStr = "",
) -> Response:
    try:
        with session.begin_nested():
            corrections.resolve(session, task_id, actor=user, status=status, reason=reason)
    except GongshuError as exc:
        tasks = corrections.queue(session, user)
        return render(request, "quality_tasks.html", tasks=tasks, error=str(exc), **CTX)
    return RedirectResponse("/quality/tasks", status_code=303)


@pages.get("/quality/supervision")
def supervision(
    request: Request, session: SessionDep, user: Annotated[User, requires(QUALITY_ASSESS)]
) -> Response:
    workdays = corrections.workdays_for(session, user.org.region_code) if user.org else None
    return render(
        request,
        "quality_supervision.html",
        overdue=corrections.overdue(session, user),
        workdays=workdays,
        orgs={o.id: o.name for o in session.query(Organization)},
        **CTX,
    )


@pages.post("/quality/deadline")
def deadline_save(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_ASSESS)],
    workdays: FormStr,
) -> Response:
    if not workdays.strip().isdigit():
        raise InvalidInput("整改期限须为工作日数")
    corrections.set_deadline(session, int(workdays), actor=user)
    return RedirectResponse("/quality/supervision", status_code=303)


@pages.get("/quality/duplicates")
def duplicates(
    request: Request, session: SessionDep, user: Annotated[User, requires(QUALITY_ASSESS)]
) -> Response:
    found = onesource.find_duplicates(
        session, user, datasets_dir=request.app.state.settings.datasets_dir
    )
    return render(
        request,
        "quality_duplicates.html",
        found=found,
        decisions=onesource.decisions(session),
        names={
            e.id: e.name for e in catalog_search.search(session, actor=user, limit=1000).entries
        },
    )


@pages.post("/quality/duplicates/designate")
def designate(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_ASSESS)],
    entries: FormStr,
    legal_entry_id: FormStr,
    reason: FormStr = "",
) -> Response:
    ids = [int(i) for i in entries.split(",") if i.strip().isdigit()]
    if not legal_entry_id.isdigit():
        raise InvalidInput("请指定唯一采集来源")
    # The evidence recorded is measured again here, never taken from the form.
    found = onesource.find_duplicates(
        session, user, datasets_dir=request.app.state.settings.datasets_dir
    )
    evidence = next((d.evidence() for d in found if {d.a.id, d.b.id} == set(ids)), {})
    onesource.designate(
        session, ids, int(legal_entry_id), actor=user, reason=reason, evidence=evidence
    )
    return RedirectResponse("/quality/duplicates", status_code=303)


@pages.get("/quality/assessments")
def assessments(
    request: Request, session: SessionDep, user: Annotated[User, requires(QUALITY_ASSESS)]
) -> Response:
    done = session.query(Assessment).order_by(Assessment.id.desc()).limit(50).all()
    orgs = session.query(Organization).filter(Organization.kind == "agency").all()
    return render(request, "quality_assessments.html", done=done, orgs=orgs, tiers=TIERS)


@pages.post("/quality/assessments")
def assessment_run(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_ASSESS)],
    scope: FormStr,
    value: FormStr,
) -> Response:
    result = assessment.assess(session, actor=user, scope=scope, value=value)
    return RedirectResponse(f"/quality/assessments/{result.id}", status_code=303)


def _assessment(session, assessment_id: int) -> Assessment:  # noqa: ANN001
    result = session.get(Assessment, assessment_id)
    if result is None:
        from gongshu.quality.errors import ReportNotFound

        raise ReportNotFound(f"质量评估不存在：{assessment_id}")
    return result


@pages.get("/quality/assessments/{assessment_id}")
def assessment_page(
    request: Request,
    assessment_id: int,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_ASSESS)],
) -> Response:
    return render(request, "quality_assessment.html", result=_assessment(session, assessment_id))


@pages.get("/quality/assessments/{assessment_id}/pdf")
def assessment_pdf(
    assessment_id: int, session: SessionDep, user: Annotated[User, requires(QUALITY_ASSESS)]
) -> Response:
    pdf = assessment.assessment_pdf(_assessment(session, assessment_id))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="assessment-{assessment_id}.pdf"'},
    )


@pages.get("/quality/statistics")
def statistics(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_ASSESS)],
    tier: str = "",
) -> Response:
    stats = assessment.statistics(session, actor=user, tier=tier or None)
    rows = assessment.statistics_rows(stats)
    # Charts (gongshu.js): the departments' catalog attributes, and open-data use by month.
    header = assessment.STAT_HEADER
    attrs = ("无条件共享", "有条件共享", "不予共享")
    by_agency = {
        "names": [r[0] for r in rows],
        "series": [[a, [r[header.index(a)] for r in rows]] for a in attrs],  # in this order
    }
    prefix = "" if "admin" in user.roles else jurisdiction.area_prefix(user.org.region_code)
    return render(
        request,
        "quality_statistics.html",
        header=header,
        rows=rows,
        tier=tier,
        tiers=TIERS,
        by_agency=by_agency,
        usage=open_service.usage_by_month(session, region_prefix=prefix),
    )


@pages.get("/quality/statistics.csv")
def statistics_csv(
    session: SessionDep, user: Annotated[User, requires(QUALITY_ASSESS)], tier: str = ""
) -> Response:
    stats = assessment.statistics(session, actor=user, tier=tier or None)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(assessment.STAT_HEADER)
    writer.writerows(assessment.statistics_rows(stats))
    return Response(
        ("\ufeff" + buf.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="data-resources.csv"'},
    )
