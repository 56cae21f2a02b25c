"""Server-rendered pages (Jinja2), in Simplified Chinese."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gongshu.accounts.permissions import ORG_KINDS, ROLE_LABELS, TIERS
from gongshu.catalog.models import GRADE_LABELS
from gongshu.timeutil import beijing

PACKAGE = Path(__file__).resolve().parents[1]
TEMPLATE_DIRS = (
    "web",
    "accounts",
    "catalog",
    "datasets",
    "ledger",
    "egress",
    "exchange",
    "opendata",
    "workdays",
    "discovery",
    "operation",
    "compliance",
    "registration",
    "market",
    "privacy",
    "quality",
)

LABELS = {
    "sharing": {"unconditional": "无条件共享", "conditional": "有条件共享", "none": "不予共享"},
    "opening": {"unconditional": "无条件开放", "conditional": "有条件开放", "none": "不予开放"},
    "status": {"draft": "草稿", "submitted": "待审核", "approved": "已发布", "returned": "已退回"},
    "tier": TIERS,
    "role": ROLE_LABELS,
    "org_kind": ORG_KINDS,
    "grade": GRADE_LABELS,
}


def make_templates() -> Jinja2Templates:
    dirs = [
        PACKAGE / d / "templates" for d in TEMPLATE_DIRS if (PACKAGE / d / "templates").is_dir()
    ]
    env = Environment(loader=FileSystemLoader(dirs), autoescape=select_autoescape())
    env.filters["bj"] = beijing
    env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, default=str)
    env.globals["L"] = LABELS
    return Jinja2Templates(env=env)


def render(request: Request, name: str, *, status_code: int = 200, **context) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    user = getattr(request.state, "user", None)
    return templates.TemplateResponse(
        request, name, {"user": user, **context}, status_code=status_code
    )
