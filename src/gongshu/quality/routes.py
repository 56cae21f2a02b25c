"""Quality JSON API under /api/v1/quality."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import CATALOG_READ, QUALITY_ASSESS, QUALITY_MANAGE
from gongshu.quality import corrections, onesource, service
from gongshu.quality.pages import _visible
from gongshu.web.bounds import MAX_ITEMS, Id, Text
from gongshu.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/quality", tags=["quality"])


def _report(r) -> dict:  # noqa: ANN001
    return {
        "id": r.id,
        "version_no": r.version_no,
        "rules_version": r.rules_version,
        "rows": r.rows,
        "scores": r.scores,
        "overall": r.overall,
        "results": r.results,
    }


@router.get("/entries/{entry_id}/reports")
def reports(
    entry_id: Id, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> list[dict]:
    _visible(session, entry_id, user)
    return [_report(r) for r in service.reports_of(session, entry_id)]


@router.get("/entries/{entry_id}/rules")
def rules(
    entry_id: Id, session: SessionDep, user: Annotated[User, requires(QUALITY_MANAGE)]
) -> dict:
    _visible(session, entry_id, user)
    current = service.current_rules(session, entry_id)
    return {
        "version": current.version_no if current else 0,
        "rules": current.rules if current else [],
    }


@router.put("/entries/{entry_id}/rules")
def put_rules(
    entry_id: Id,
    session: SessionDep,
    user: Annotated[User, requires(QUALITY_MANAGE)],
    rules: Annotated[list[dict], Body(embed=True, max_length=MAX_ITEMS)],
    reason: Annotated[Text, Body(embed=True)] = "",
) -> dict:
    ruleset = service.update_rules(session, entry_id, rules, actor=user, reason=reason)
    return {"version": ruleset.version_no, "rules": ruleset.rules}


@router.get("/tasks")
def tasks(session: SessionDep, user: Annotated[User, requires(QUALITY_MANAGE)]) -> list[dict]:
    return [
        {
            "id": t.id,
            "entry_id": t.entry_id,
            "source": t.source,
            "dimension": t.dimension,
            "field": t.field,
            "description": t.description,
            "failed": t.failed,
            "status": t.status,
            "deadline": t.deadline,
            "deadline_warning": t.deadline_warning,
        }
        for t in corrections.queue(session, user)
    ]


@router.get("/duplicates")
def duplicates(
    request: Request, session: SessionDep, user: Annotated[User, requires(QUALITY_ASSESS)]
) -> list[dict]:
    found = onesource.find_duplicates(
        session, user, datasets_dir=request.app.state.settings.datasets_dir
    )
    return [{"entries": [d.a.id, d.b.id], **d.evidence()} for d in found]
