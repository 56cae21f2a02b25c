"""Server-rendered pages (Jinja2), in Simplified Chinese."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from gongshu.timeutil import beijing
from gongshu.web.csrf import csrf_field

PACKAGE = Path(__file__).resolve().parents[1]


def who(actor: object) -> str:
    """A ledger actor as people read it: ``user:clerk`` as "clerk", ``system:x`` as "系统"."""
    if not isinstance(actor, str) or not actor:
        return ""
    kind, sep, name = actor.partition(":")
    if not sep:
        return actor
    return "系统" if kind == "system" else name


def make_templates(packages: list[str], labels: dict[str, dict]) -> Jinja2Templates:
    """Templates from each package's ``templates/`` (the registry's order) and the label
    tables capabilities declare (``L.status[...]`` in a template)."""
    dirs = [PACKAGE / d / "templates" for d in packages if (PACKAGE / d / "templates").is_dir()]
    env = Environment(loader=FileSystemLoader(dirs), autoescape=select_autoescape())
    env.filters["bj"] = beijing
    env.filters["who"] = who
    env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, default=str)
    env.globals["L"] = labels
    env.globals["csrf_field"] = pass_context(lambda ctx: csrf_field(ctx["request"]))
    return Jinja2Templates(env=env)


def render(request: Request, name: str, *, status_code: int = 200, **context) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    user = getattr(request.state, "user", None)
    return templates.TemplateResponse(
        request, name, {"user": user, **context}, status_code=status_code
    )
