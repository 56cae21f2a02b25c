"""The person's own pages (issue 17 item 7): everything they filed, from every
capability's ``mine`` (applications, declarations, agreements, complaints, rights
requests, contracts), each with its status, its reference number, and the working
days left on its statutory clock; one page per item with its history. Only the
person's own items are ever listed or found."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from gongshu import capabilities
from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import ACCOUNT_SELF
from gongshu.capability import MY_KINDS, MyItem
from gongshu.errors import NotFound
from gongshu.timeutil import utcnow
from gongshu.web.deps import SessionDep, read_only
from gongshu.web.render import render
from gongshu.workdays import Calendar, ScheduleMissing, beijing_date

pages = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Clock:
    """How the statutory clock of one item stands today, in words."""

    text: str
    late: bool = False


def clock(item: MyItem, calendar: Calendar, today: dt.date) -> Clock | None:
    """Working days left until ``item.deadline`` (today counts while it is a working
    day); None when the item has no clock."""
    if item.deadline is None:
        return Clock(item.deadline_warning) if item.deadline_warning and not item.closed else None
    last = beijing_date(item.deadline - dt.timedelta(seconds=1))  # 24:00 of the last day
    if item.closed:
        return Clock(f"期限 {last:%Y-%m-%d}")
    try:
        if last < today:
            late = calendar.workdays_between(last, today)
            return Clock(f"已超过期限（{last:%Y-%m-%d}）{late} 个工作日", late=True)
        left = calendar.workdays_between(today, last) + (1 if calendar.is_workday(today) else 0)
    except ScheduleMissing:
        return Clock(f"期限 {last:%Y-%m-%d}（节假日安排未录入，剩余工作日无法计算）")
    return Clock(f"期限 {last:%Y-%m-%d}，剩余 {left} 个工作日", late=False)


def my_items(session: Session, user: User) -> list[MyItem]:
    """Everything ``user`` filed, from every capability."""
    found: list[MyItem] = []
    for source in capabilities.mine_sources():
        found.extend(source(session, user))
    return found


@pages.get("/me")
@read_only()
def me(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
    kind: str = "",
) -> Response:
    items = my_items(session, user)
    counts = {k: sum(1 for i in items if i.kind == k) for k in MY_KINDS}
    if kind not in MY_KINDS:
        kind = ""
    shown = [i for i in items if not kind or i.kind == kind]
    # Open items first, then newest first: what still needs waiting for is on top.
    shown.sort(key=lambda i: (i.closed, -i.filed_at.timestamp()))
    calendar, today = Calendar(session), beijing_date(utcnow())
    return render(
        request,
        "me.html",
        kinds=MY_KINDS,
        kind=kind,
        counts=counts,
        rows=[(i, clock(i, calendar, today)) for i in shown],
    )


@pages.get("/me/{kind}/{key}")
@read_only()
def my_item(
    kind: str,
    key: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
    done: int = 0,
) -> Response:
    found = next((i for i in my_items(session, user) if i.kind == kind and i.key == key), None)
    if found is None:
        # Someone else's item is not found either: no hint that it exists.
        raise NotFound("没有找到该事项：它不存在，或不是您本人提交的")
    return render(
        request,
        "me_item.html",
        item=found,
        kind_label=MY_KINDS[kind],
        clock=clock(found, Calendar(session), beijing_date(utcnow())),
        # Just filed (a form redirects here): what happened, its number, what next.
        flash=(
            f"已提交，受理编号 {found.reference}。"
            + (f"下一步：{found.next_step}。" if found.next_step else "")
            if done
            else None
        ),
    )
