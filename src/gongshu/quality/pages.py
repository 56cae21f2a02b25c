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
from gongshu.errors import Conflict, GongshuError, InvalidField, InvalidInput
from gongshu.opendata import service as open_service
from gongshu.quality import assessment, corrections, onesource, service
from gongshu.quality.models import Assessment
from gongshu.quality.rules import DIMENSIONS, EXPECTATIONS
from gongshu.web.deps import SessionDep
from gongshu.web.forms import form_errors
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
        errors=extra.pop("errors", {}),
        data=extra.pop("data", {}),
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
        said = f"规则不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列有误"
        failed: GongshuError = InvalidField(said, field="rules")
    except (InvalidInput, Conflict) as exc:
        # A rule's problem is the rules text's: said beside it (issue 17 item 6).
        failed = exc if getattr(exc, "field", "") else InvalidField(exc.message, field="rules")
    else:
        return RedirectResponse(f"/quality/entries/{entry.id}/rules?saved=1", status_code=303)
    return _rules_page(
        request,
        session,
        entry,
        text=rules,
        data={"reason": reason},
        status_code=failed.status,
        **form_errors(failed),
    )


@pages.get("/quality/tasks")
def task_queue(
    request: Request, session: SessionDep, user: Annotated[User, requires(QUALITY_MANAGE)]
) -> Response:
    tasks = corrections.queue(session, user)
    return render(request, "quality_tasks.html", tasks=tasks, errors={}, data={}, **CTX)


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
    except (InvalidInput, Conflict) as exc:
        # The queue again, the message beside this task's field, what was typed kept.
        tasks = corrections.queue(session, user)
        return render(
            request,
            "quality_tasks.html",
            status_code=exc.status,
            tasks=tasks,
            errors={f"reason-{task_id}": exc.message},
            data={f"reason-{task_id}": reason},
            **CTX,
        )
    return RedirectResponse("/quality/tasks", status_code=303)


@pages.get("/quality/supervision")
def supervision(
    request: Request, session: SessionDep, user: Annotated[User, requires(QUALITY_ASSESS)]
) -> Response:
    return _supervision_page(request, session, user)


def _supervision_page(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    *,
    status_code: int = 200,
    data: dict | None = None,
    **failed,  # noqa: ANN003
) -> Response:
    workdays = corrections.workdays_for(session, user.org.region_code) if user.org else None
    return render(
        request,
        "quality_supervision.html",
        status_code=status_code,
        overdue=corrections.overdue(session, user),
        workdays=workdays,
        orgs={o.id: o.name for o in session.query(Organization)},
        data=data if data is not None else {"workdays": workdays or ""},
        errors=failed.pop("errors", {}),
        **failed,
        **CTX,
    )


@pages.post("/quality/deadline")
def deadline_save(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_ASSESS)],
    workdays: FormStr,
) -> Response:
    try:
        if not workdays.strip().isdigit():
            raise InvalidField("整改期限须为 1 到 60 个工作日", field="workdays")
        with session.begin_nested():
            corrections.set_deadline(session, int(workdays), actor=user)
    except InvalidInput as exc:
        failed = exc if getattr(exc, "field", "") else InvalidField(exc.message, field="workdays")
        return _supervision_page(
            request,
            session,
            user,
            status_code=failed.status,
            data={"workdays": workdays},
            **form_errors(failed),
        )
    return RedirectResponse("/quality/supervision", status_code=303)


@pages.get("/quality/duplicates")
def duplicates(
    request: Request, session: SessionDep, user: Annotated[User, requires(QUALITY_ASSESS)]
) -> Response:
    return _duplicates_page(request, session, user)


def _duplicates_page(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    *,
    status_code: int = 200,
    errors: dict | None = None,
    data: dict | None = None,
) -> Response:
    found = onesource.find_duplicates(
        session, user, datasets_dir=request.app.state.settings.datasets_dir
    )
    return render(
        request,
        "quality_duplicates.html",
        status_code=status_code,
        errors=errors or {},
        data=data or {},
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
    pair = "-".join(str(i) for i in ids)
    try:
        if not legal_entry_id.isdigit():
            raise InvalidInput("请指定唯一采集来源")
        # The evidence recorded is measured again here, never taken from the form.
        found = onesource.find_duplicates(
            session, user, datasets_dir=request.app.state.settings.datasets_dir
        )
        evidence = next((d.evidence() for d in found if {d.a.id, d.b.id} == set(ids)), {})
        with session.begin_nested():
            onesource.designate(
                session, ids, int(legal_entry_id), actor=user, reason=reason, evidence=evidence
            )
    except InvalidInput as exc:
        # The list again, the message beside this pair's reason, what was typed kept.
        return _duplicates_page(
            request,
            session,
            user,
            status_code=exc.status,
            errors={f"reason-{pair}": exc.message},
            data={f"reason-{pair}": reason, f"legal-{pair}": legal_entry_id},
        )
    return RedirectResponse("/quality/duplicates", status_code=303)


@pages.get("/quality/assessments")
def assessments(
    request: Request, session: SessionDep, user: Annotated[User, requires(QUALITY_ASSESS)]
) -> Response:
    return _assessments_page(request, session)


def _assessments_page(
    request: Request,
    session,  # noqa: ANN001
    *,
    status_code: int = 200,
    errors: dict | None = None,
    data: dict | None = None,
) -> Response:
    done = session.query(Assessment).order_by(Assessment.id.desc()).limit(50).all()
    orgs = session.query(Organization).filter(Organization.kind == "agency").all()
    return render(
        request,
        "quality_assessments.html",
        status_code=status_code,
        done=done,
        orgs=orgs,
        tiers=TIERS,
        errors=errors or {},
        data=data or {},
    )


@pages.post("/quality/assessments")
def assessment_run(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_ASSESS)],
    scope: FormStr,
    value: FormStr,
) -> Response:
    try:
        with session.begin_nested():
            result = assessment.assess(session, actor=user, scope=scope, value=value)
    except InvalidInput as exc:
        # The form again, the message beside the choice that was refused.
        field = "tier" if scope == "tier" else "agency"
        return _assessments_page(
            request,
            session,
            status_code=exc.status,
            errors={field: exc.message},
            data={field: value},
        )
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
