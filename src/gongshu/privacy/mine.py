"""A person's rights requests for their own pages (issue 17 item 7): status, the
15-working-day clock (PIP-5) and each provider's handling as its history."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.capability import MyItem, reference
from gongshu.catalog.models import CatalogEntry
from gongshu.privacy.models import (
    MATCH_OUTCOMES,
    REQUEST_KINDS,
    REQUEST_STATUS,
    RightsMatch,
    RightsRequest,
)
from gongshu.privacy.service import of_user


def _item(req: RightsRequest, parts: list[tuple[RightsMatch, str]]) -> MyItem:
    kind = REQUEST_KINDS.get(req.kind, "其他")
    history = [(req.received_at, f"提交{kind}请求，平台受理，找到 {len(parts)} 个目录含有您的信息")]
    for match, name in parts:
        if match.handled_at:
            outcome = MATCH_OUTCOMES.get(match.outcome or "", "已办理")
            note = f"，{match.note}" if match.note else ""
            history.append((match.handled_at, f"{name}：{outcome}{note}"))
    if req.answered_at:
        history.append((req.answered_at, "全部办理完毕，已答复"))
    history.sort(key=lambda h: h[0])
    return MyItem(
        kind="requests",
        key=req.id,
        reference=reference("GRXX", req.received_at, req.id),
        title=f"{kind}个人信息",
        status=REQUEST_STATUS.get(req.status, "办理中"),
        filed_at=req.received_at,
        closed=req.status == "answered",
        href=f"/privacy/requests/{req.id}",
        deadline=req.deadline,
        deadline_warning=req.deadline_warning,
        next_step="" if req.status == "answered" else "等待数据提供单位逐一办理，期限届满前答复",
        history=tuple(history),
        details=(
            ("请求类型", kind),
            ("补充说明", req.details or "无"),
            ("涉及目录", "、".join(name for _, name in parts) or "未找到含有您信息的目录"),
        ),
    )


def items(session: Session, user: User) -> list[MyItem]:
    """Every rights request ``user`` filed, newest first."""
    requests = of_user(session, user)
    parts: dict[int, list[tuple[RightsMatch, str]]] = {r.id: [] for r in requests}
    if requests:
        rows = session.execute(
            select(RightsMatch, CatalogEntry.name)
            .join(CatalogEntry, CatalogEntry.id == RightsMatch.entry_id)
            .where(RightsMatch.request_id.in_(list(parts)))
            .order_by(RightsMatch.id)
        ).all()
        for match, name in rows:
            parts[match.request_id].append((match, name))
    return [_item(r, parts[r.id]) for r in requests]
