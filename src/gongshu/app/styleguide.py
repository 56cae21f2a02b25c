"""The style page, ``/_styleguide``: every component of the design system
(``web/static/gongshu.css``) as it looks, for the people who write templates
(issue 17 item 1). It shows made-up examples and reads nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import PUBLIC
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)

# The colour tokens shown as swatches: (custom property, what it is for).
SWATCHES = (
    ("--brand", "品牌红（页眉、主按钮）"),
    ("--brand-dark", "品牌深红（悬停）"),
    ("--ink", "正文"),
    ("--muted", "次要文字"),
    ("--link", "链接"),
    ("--line", "边框"),
    ("--bg", "浅底"),
    ("--ok", "通过"),
    ("--warn", "待办"),
    ("--bad", "错误、逾期"),
    ("--info", "提示"),
    ("--focus", "键盘焦点"),
)


@pages.get("/_styleguide")
def styleguide(request: Request, user: Annotated[User | None, requires(PUBLIC)]) -> Response:
    return render(request, "styleguide.html", swatches=SWATCHES)
