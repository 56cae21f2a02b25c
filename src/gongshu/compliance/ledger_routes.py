"""The ledger's face: entries and checkpoints for auditors and administrators (the
ledger itself, below every capability, is ``gongshu.ledger``). An auditor reads only
the entries of its own engagements (``access.ledger_scope``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import LEDGER_READ
from gongshu.catalog.models import CatalogEntry
from gongshu.compliance.access import ledger_scope
from gongshu.ledger import service
from gongshu.ledger.labels import action_label, payload_items, subject_label
from gongshu.web.bounds import MAX_INT, Code, Text
from gongshu.web.deps import SessionDep
from gongshu.web.render import render

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])
pages = APIRouter(include_in_schema=False)


def _entry_dict(e) -> dict:  # noqa: ANN001
    return {
        "position": e.position,
        "created_at": e.created_at.isoformat(),
        "action": e.action,
        "actor": e.actor,
        "subject": e.subject,
        "payload": e.payload,
        "leaf_hash": e.leaf_hash,
    }


@router.get("/entries")
def entries(
    session: SessionDep,
    user: Annotated[User, requires(LEDGER_READ)],
    subject: Text | None = None,
    action: Code | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[dict]:
    """Entries newest first; filter by subject (entry:12, user:3) or action prefix."""
    rows = service.entries(
        session,
        subject=subject,
        action_prefix=action,
        limit=limit,
        offset=offset,
        within=ledger_scope(session, user),
    )
    return [_entry_dict(e) for e in rows]


@router.get("/checkpoints")
def checkpoints(session: SessionDep, user: Annotated[User, requires(LEDGER_READ)]) -> list[dict]:
    """Signed tree heads, for someone outside the operator to keep."""
    return service.export_checkpoints(session)


@pages.get("/ledger")
def ledger_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(LEDGER_READ)],
    subject: str | None = None,
    action: str | None = None,
    page: int = 1,
) -> Response:
    page = max(page, 1)
    rows = service.entries(
        session,
        subject=subject or None,
        action_prefix=action or None,
        limit=50,
        offset=(page - 1) * 50,
        within=ledger_scope(session, user),
    )
    heads = service.export_checkpoints(session)
    return render(
        request,
        "ledger.html",
        entries=rows,
        events=_events(session, rows),
        checkpoints=heads[-10:][::-1],
        subject=subject or "",
        action=action or "",
        page=page,
    )


def _ids(values: list[str | None], prefix: str) -> set[str]:
    return {v.split(":", 1)[1] for v in values if v and v.startswith(prefix)}


def _events(session, rows: list) -> list[dict]:  # noqa: ANN001
    """Each entry as an event people read: its name, who (by name), on what (by name), and
    the labelled fields of its payload; the raw record stays for the technical view."""
    names = {
        u.username: u.display_name
        for u in session.query(User).filter(
            User.username.in_(_ids([e.actor for e in rows], "user:"))
        )
    }
    subjects = [e.subject for e in rows]
    users = {
        str(u.id): u.display_name
        for u in session.query(User).filter(
            User.id.in_([int(i) for i in _ids(subjects, "user:") if i.isdigit()])
        )
    }
    orgs = {
        str(o.id): o.name
        for o in session.query(Organization).filter(
            Organization.id.in_([int(i) for i in _ids(subjects, "org:") if i.isdigit()])
        )
    }
    entries = {
        str(c.id): c.name
        for c in session.query(CatalogEntry).filter(
            CatalogEntry.id.in_([int(i) for i in _ids(subjects, "entry:") if i.isdigit()])
        )
    }
    known = {"user": users, "org": orgs, "entry": entries}
    out = []
    for e in rows:
        who = ""
        if e.actor:
            kind, _, key = e.actor.partition(":")
            who = names.get(key, key) if kind == "user" else ("系统" if kind == "system" else key)
        what = subject_label(e.subject)
        if e.subject:
            kind, _, key = e.subject.partition(":")
            if key in known.get(kind, {}):
                what = f"{what.split(' #')[0]}「{known[kind][key]}」"
        out.append(
            {
                "entry": e,
                "label": action_label(e.action),
                "actor": who,
                "subject": what,
                "fields": payload_items(e.payload),
            }
        )
    return out
