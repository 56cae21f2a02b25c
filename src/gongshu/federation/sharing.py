"""Sharing across nodes (issue 18 item 4; SHR-3, SHR-4, SHR-5): an agency on one node
applies for an entry held on another, as one state machine both nodes hold.

The consumer node records the application (``submitted``, with the SHR-4 deadline of
10 working days from submission) and sends it, signed, on its ``sharing`` chain to
the provider node, directly (the directory gives the address and key; nothing goes
through the province). The provider node files it as an ordinary local sharing
application on behalf of the remote agency (``exchange.apply``: the same gates, the
same clock), so its provider answers, refers to the data authority of its own tier,
approves (a grant at the egress door) or refuses exactly as for a local agency. Its
sync tick reads the local application and grant (no hook in ``exchange``) and
reports every change back on its own ``sharing`` chain: ``accepted`` (with the
provider's deadline), ``referred``, ``refused``, ``granted`` (with the grant's
expiry), ``revoked``, ``expired``. Both nodes record every transition in their
ledgers.

Data never travels on the chain: the consumer asks the provider node with a signed,
numbered fetch request; the provider serves it through ``egress.deliver`` for the
grant (masked, watermarked for the consuming organization), records it in its
ledger, and answers the bytes with a signed delivery note the consumer checks and
records in its own ledger.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import service as accounts
from gongshu.accounts.models import Organization, Region, User
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.errors import Conflict, Forbidden, GongshuError, InvalidField, NotFound
from gongshu.exchange import service as exchange
from gongshu.exchange.models import SharingApplication
from gongshu.federation import chain, client, delivery, directory, envelope, identity
from gongshu.federation.models import SHARING_LABELS, CrossSharing, Message
from gongshu.identifiers import is_region_code
from gongshu.ledger import record
from gongshu.storage.models import DatasetVersion
from gongshu.timeutil import as_utc, utcnow
from gongshu.workdays import Calendar, ClockSpec, Period, ScheduleMissing, beijing_date, lifecycle

CHANNEL = "sharing"
APPLY = "sharing.apply"
STATE = "sharing.state"
ANSWER_WORKDAYS = exchange.SHARING_ANSWER.period.workdays  # SHR-4: 10
WARN_WORKDAYS = 3  # a pending application this close to its deadline is surfaced
MAX_FETCH_ROWS = 1000
TERMINAL = ("refused", "revoked", "expired")
PENDING = ("submitted", "accepted", "referred")
# The transitions a state message may make (anything else is refused as malformed).
NEXT = {
    "submitted": {"accepted", "referred", "refused", "granted"},
    "accepted": {"referred", "refused", "granted"},
    "referred": {"refused", "granted"},
    "granted": {"revoked", "expired"},
    "refused": set(),
    "revoked": set(),
    "expired": set(),
}
REQUIRED = {
    "reason": "申请理由",
    "legal_basis": "申请依据",
    "use": "数据用途",
    "scenario": "具体应用场景",
}


def _subject(row: CrossSharing) -> str:
    return f"cross-sharing:{row.consumer_node}/{row.ref}"


# The answer clock of a pending cross-node application (SHR-4: 10 working days): on
# the consumer from submission, until the provider's own deadline (from its receipt,
# the local application's) comes back with ``accepted``; on the provider from receipt.
CROSS_ANSWER = ClockSpec(
    name="cross-sharing",
    model=CrossSharing,
    start="submitted_at",
    deadline="deadline",
    warning="deadline_warning",
    period=Period(workdays=ANSWER_WORKDAYS),
    basis=f"提交申请后 {ANSWER_WORKDAYS} 个工作日",
    what="答复期限",
    note="申请已提交",
    status="state",
    open_statuses=PENDING,
    terminal=("granted", *TERMINAL),
    action="federation.sharing_deadline_computed",
    subject=_subject,
)
# Registered as ``Capability.clocks``: a deadline that waited for a year's holiday
# schedule (CLK-4) is filled on both nodes when the year is entered.
CLOCKS = (CROSS_ANSWER,)


def _area(region_code: str) -> str:
    code = region_code
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def _step(row: CrossSharing, state: str, now: dt.datetime, note: str | None = None) -> None:
    """Append a step (with the deadline it runs to) and move to it."""
    step = {"state": state, "at": now.isoformat()}
    if row.deadline is not None:
        step["deadline"] = as_utc(row.deadline).isoformat()
    if note:
        step["note"] = note
    row.history = [*(row.history or []), step]
    row.state, row.updated_at = state, now


def _transition(
    session: Session, row: CrossSharing, state: str, *, actor: str, **facts: Any
) -> None:  # noqa: ANN401
    now = utcnow()
    _step(row, state, now, facts.get("reason"))
    session.flush()
    record(
        session,
        "federation.sharing_state",
        actor=actor,
        subject=_subject(row),
        payload={"side": row.side, "state": state, **facts},
    )


# ---------------------------------------------------------------- consumer: applying


def apply(
    session: Session,
    *,
    actor: User,
    provider_node: str,
    entry_id: int,
    reason: str,
    legal_basis: str,
    use: str,
    scenario: str,
    requested_fields: list[str],
    term_days: int,
    private: bytes,
) -> CrossSharing:
    """The consumer node's agency applies for ``entry_id`` held on ``provider_node``;
    the application is queued, signed, on this node's ``sharing`` chain to it."""
    node = identity.me(session)
    if actor.org is None or actor.org.kind != "agency":
        raise Forbidden("共享数据仅向公共管理和服务机构提供")
    texts = {"reason": reason, "legal_basis": legal_basis, "use": use, "scenario": scenario}
    problems = {k: "有条件共享申请必须填写" for k in REQUIRED if not (texts[k] or "").strip()}
    if provider_node == node.node_id:
        problems["provider_node"] = "本节点的目录请直接在本节点申请共享"
    elif directory.lookup(session, provider_node) is None:
        problems["provider_node"] = f"节点目录中没有数据提供节点 {provider_node}"
    if isinstance(entry_id, bool) or not isinstance(entry_id, int) or entry_id < 1:
        problems["entry_id"] = "目录编号应为正整数"
    wanted = list(dict.fromkeys(f.strip() for f in requested_fields or [] if f.strip()))
    if not wanted:
        problems["requested_fields"] = "请至少选择一个申请的字段"
    if isinstance(term_days, bool) or not isinstance(term_days, int):
        problems["term_days"] = "使用期限必须是整数天"
    elif not 1 <= term_days <= exchange.MAX_TERM_DAYS:
        problems["term_days"] = f"使用期限须在 1 至 {exchange.MAX_TERM_DAYS} 天之间"
    if problems:
        raise InvalidField.of(problems)
    row = CrossSharing(
        side="consumer",
        ref=secrets.token_hex(8),
        consumer_node=node.node_id,
        provider_node=provider_node,
        entry_id=entry_id,
        org_ref=actor.org_id,
        org_name=actor.org.name,
        org_region=actor.org.region_code,
        applicant=actor.actor,
        request={
            **{k: v.strip() for k, v in texts.items()},
            "requested_fields": wanted,
            "term_days": term_days,
        },
        state="submitted",
        submitted_at=utcnow(),
        history=[],
    )
    _step(row, "submitted", row.submitted_at)
    lifecycle.start_clock(session, CROSS_ANSWER, row)
    session.add(row)
    session.flush()
    record(
        session,
        "federation.sharing_applied",
        actor=actor.actor,
        subject=_subject(row),
        payload={
            "provider_node": provider_node,
            "entry": entry_id,
            "org": actor.org_id,
            "fields": wanted,
            "term_days": term_days,
            "deadline": row.deadline,
            "deadline_warning": row.deadline_warning,
        },
    )
    chain.queue(
        session,
        private,
        receiver=provider_node,
        channel=CHANNEL,
        kind=APPLY,
        payload={
            "ref": row.ref,
            "entry_id": entry_id,
            "org": {
                "id": actor.org_id,
                "name": row.org_name,
                "region_code": row.org_region,
                "region_name": actor.org.region.name if actor.org.region else "",
            },
            "applicant": actor.actor,
            "submitted_at": row.submitted_at.isoformat(),
            **row.request,
        },
    )
    row.reported_state = "submitted"
    return row


# ---------------------------------------------------------------- provider: receiving


def _region(session: Session, code: str, name: str) -> bool:
    """The consuming organization's region on this node, added (under its nearest known
    ancestor) when this node does not list it yet; False when the code is not one."""
    if session.get(Region, code) is not None:
        return True
    if not is_region_code(code) or not name.strip():
        return False
    parents = [p for p in (code[:4] + "00", code[:2] + "0000") if p != code]
    parent = next((p for p in parents if session.get(Region, p) is not None), None)
    accounts.add_region(session, code, name.strip()[:64], parent=parent)
    return True


def _proxy(session: Session, consumer_node: str, org: dict[str, Any]) -> User:
    """The local organization and (inactive, password-less) user that stand for a
    remote agency on this node: the recipient the door masks and marks for."""
    by = f"node:{consumer_node}"
    name = f"{org['name']}（{consumer_node}）"[:128]
    # Found by the remote organization's id on its node (the user name), not by its
    # name: a renamed agency keeps its stand-in, and so its grants and marks.
    username = f"{consumer_node}.org{org['id']}"[:64]
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        local = session.scalar(select(Organization).where(Organization.name == name))
        if local is None:
            local = accounts.add_organization(
                session, name, kind="agency", region_code=org["region_code"], by=by
            )
        user = User(
            username=username,
            display_name=name[:64],
            password_hash="!",  # never a valid hash: nobody signs in as it
            org_id=local.id,
            roles=[],
            is_active=False,
        )
        session.add(user)
        session.flush()
        record(
            session,
            "user.created",
            actor=by,
            subject=f"user:{user.id}",
            payload={"username": username, "roles": [], "org": name, "stand_in": True},
        )
    return user


def _receive_apply(session: Session, env: dict[str, Any], message: Message) -> None:
    p = env["payload"]
    sender = env["from"]
    try:
        ref, entry_id, org = str(p["ref"]), int(p["entry_id"]), dict(p["org"])
        org_id, org_name, region = int(org["id"]), str(org["name"]), str(org["region_code"])
        region_name = str(org.get("region_name") or "")
        fields = [str(f) for f in p["requested_fields"]]
        texts = {k: str(p[k]) for k in REQUIRED}
        term_days = int(p["term_days"])
    except (KeyError, TypeError, ValueError) as exc:
        raise chain.Refused("malformed", detail=f"共享申请缺少字段：{exc}") from exc
    peer = directory.lookup(session, sender) or {}
    peer_region = str(peer.get("region_code") or "")
    if peer_region and not region.startswith(_area(peer_region)):
        raise chain.Refused(
            "malformed", detail=f"申请单位所在地区 {region} 不在节点 {sender} 的辖区"
        )
    if session.scalar(
        select(CrossSharing.id).where(
            CrossSharing.side == "provider",
            CrossSharing.consumer_node == sender,
            CrossSharing.ref == ref,
        )
    ):
        raise chain.Refused("malformed", detail=f"共享申请 {ref} 已收到过")
    row = CrossSharing(
        side="provider",
        ref=ref,
        consumer_node=sender,
        provider_node=env["to"],
        entry_id=entry_id,
        org_ref=org_id,
        org_name=org_name,
        org_region=region,
        applicant=str(p.get("applicant") or ""),
        request={**texts, "requested_fields": fields, "term_days": term_days},
        state="submitted",
        submitted_at=utcnow(),
        history=[],
    )
    _step(row, "submitted", row.submitted_at)
    session.add(row)
    actor = f"node:{sender}"
    problem = None
    if not _region(session, region, region_name):
        problem = f"本节点没有申请单位所在地区 {region}，不能受理"
    else:
        proxy = _proxy(session, sender, {"id": org_id, "name": org_name, "region_code": region})
        row.proxy_user_id = proxy.id
        try:  # every check of apply comes before it writes anything
            app = exchange.apply(
                session,
                entry_id,
                actor=proxy,
                requested_fields=fields,
                term_days=term_days,
                received_at=row.submitted_at,
                **texts,
            )
        except GongshuError as exc:
            problem = str(exc)
        else:
            row.application_id, row.entry_name = app.id, app.entry.name
            row.deadline, row.deadline_warning = app.deadline, app.deadline_warning
    session.flush()
    record(
        session,
        "federation.sharing_received",
        actor=actor,
        subject=_subject(row),
        payload={
            "entry": entry_id,
            "org": org_name,
            "application": row.application_id,
            "proxy_user": row.proxy_user_id,
            "message": message.hash,
        },
    )
    if problem is not None:  # not receivable: refused at once, the reason goes back
        row.reason = f"不予受理：{problem}"
        _transition(session, row, "refused", actor=actor, reason=row.reason)
    else:
        _transition(session, row, "accepted", actor=actor, deadline=row.deadline)


# ---------------------------------------------------------------- provider: following


def _observed(session: Session, row: CrossSharing, now: dt.datetime) -> tuple[str, dict]:
    """The state the provider's local application and grant say ``row`` is in."""
    app = session.get(SharingApplication, row.application_id) if row.application_id else None
    if app is None and row.grant_id is not None:  # returned down: a grant, no application
        return _grant_state(session.get(Grant, row.grant_id), now, None)
    if app is None:
        return row.state, {}
    if app.status == "referred":
        return "referred", {"reason": app.referral_note}
    if app.status == "refused":
        basis = f"（依据：{app.refusal_basis}）" if app.refusal_basis else ""
        return "refused", {"reason": f"{app.answer or ''}{basis}"}
    if app.status == "approved" and app.grant_id is not None:
        return _grant_state(session.get(Grant, app.grant_id), now, app.answer)
    return row.state, {}


def _grant_state(grant: Grant, now: dt.datetime, conditions: str | None) -> tuple[str, dict]:
    facts = {"grant": grant.id, "expires_at": as_utc(grant.expires_at)}
    if grant.revoked_at is not None:
        return "revoked", {**facts, "reason": grant.revoke_reason}
    if as_utc(grant.expires_at) <= now:
        return "expired", facts
    return "granted", {**facts, "conditions": conditions}


def follow(session: Session, now: dt.datetime | None = None) -> int:
    """Provider: move each cross-node application to what its local application and
    grant say (the answer, a referral, a revocation, an expiry); the count moved."""
    now = now or utcnow()
    moved = 0
    provider = CrossSharing.side == "provider"
    # Only the rows whose local application or grant moved (a tick runs every second;
    # granted rows stay for their whole term): answered or referred, revoked or ended.
    answered = (
        select(CrossSharing)
        .join(SharingApplication, SharingApplication.id == CrossSharing.application_id)
        .where(
            provider,
            CrossSharing.state.in_(PENDING),
            SharingApplication.status != "submitted",
            ~((CrossSharing.state == "referred") & (SharingApplication.status == "referred")),
        )
    )
    ended = (
        select(CrossSharing)
        .join(Grant, Grant.id == CrossSharing.grant_id)
        .where(
            provider,
            CrossSharing.state == "granted",
            Grant.revoked_at.is_not(None) | (Grant.expires_at <= now),
        )
    )
    rows = [*session.scalars(answered), *session.scalars(ended)]
    for row in rows:
        state, facts = _observed(session, row, now)
        if state == row.state:
            continue
        if "grant" in facts:
            row.grant_id, row.grant_expires_at = facts["grant"], facts["expires_at"]
        if state in ("revoked", "expired") and row.state != "granted":
            # granted and ended between two ticks: both steps, in order
            row.deadline = row.grant_expires_at
            _transition(session, row, "granted", actor="system", grant=row.grant_id)
        if state == "granted":
            row.deadline = row.grant_expires_at  # the granted state runs to the grant's expiry
        if state in ("refused", "revoked", "referred"):
            row.reason = facts.get("reason")
        _transition(session, row, state, actor="system", **_jsonable(facts))
        moved += 1
    return moved


def _jsonable(facts: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in facts.items()}


def _state_payload(row: CrossSharing) -> dict[str, Any]:
    return {
        "ref": row.ref,
        "state": row.state,
        "entry_name": row.entry_name,
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "deadline_warning": row.deadline_warning,
        "reason": row.reason,
        "grant_expires_at": row.grant_expires_at.isoformat() if row.grant_expires_at else None,
        "history": row.history[-1:] if row.history else [],
    }


def report(session: Session, private: bytes) -> int:
    """Provider: queue one signed state message per application whose state the
    consumer has not been told yet (each state reached, in order)."""
    queued = 0
    rows = session.scalars(
        select(CrossSharing)
        .where(
            CrossSharing.side == "provider",
            CrossSharing.reported_state.is_(None)
            | (CrossSharing.reported_state != CrossSharing.state),
        )
        .order_by(CrossSharing.id)
    ).all()
    for row in rows:
        states = [h["state"] for h in row.history]
        start = states.index(row.reported_state) + 1 if row.reported_state in states else 1
        for k in range(start, len(states)):
            payload = _state_payload(row)
            step = row.history[k]
            payload["state"], payload["history"] = states[k], [step]
            payload["deadline"] = step.get("deadline")
            chain.queue(
                session,
                private,
                receiver=row.consumer_node,
                channel=CHANNEL,
                kind=STATE,
                payload=payload,
            )
            queued += 1
        row.reported_state = row.state
    return queued


# ---------------------------------------------------------------- consumer: following


def _when(value: Any) -> dt.datetime | None:  # noqa: ANN401
    return as_utc(dt.datetime.fromisoformat(value)) if isinstance(value, str) else None


def _receive_state(session: Session, env: dict[str, Any], message: Message) -> None:
    p = env["payload"]
    row = session.scalar(
        select(CrossSharing).where(
            CrossSharing.side == "consumer",
            CrossSharing.consumer_node == env["to"],
            CrossSharing.ref == str(p.get("ref")),
        )
    )
    if row is None or row.provider_node != env["from"]:
        raise chain.Refused(
            "malformed", detail=f"本节点没有发往 {env['from']} 的共享申请 {p.get('ref')}"
        )
    state = p.get("state")
    if state == row.state or row.state in TERMINAL:
        return  # the consumer's own expiry met the provider's word: nothing more to do
    if state not in NEXT.get(row.state, set()):
        raise chain.Refused(
            "malformed", detail=f"共享申请不能从“{SHARING_LABELS[row.state]}”变为 {state}"
        )
    row.entry_name = p.get("entry_name") or row.entry_name
    row.reason = p.get("reason")
    if state in PENDING:
        row.deadline, row.deadline_warning = _when(p.get("deadline")), p.get("deadline_warning")
    if state == "granted":
        row.grant_expires_at = _when(p.get("grant_expires_at"))
        row.deadline = row.grant_expires_at
    _transition(
        session,
        row,
        state,
        actor=f"node:{env['from']}",
        message=message.hash,
        deadline=p.get("deadline"),
        reason=row.reason,
    )


def expire(session: Session, now: dt.datetime | None = None) -> int:
    """Consumer: a granted application whose grant's term has run out is expired on
    this node too (the provider's own message, when it comes, changes nothing)."""
    now = now or utcnow()
    rows = session.scalars(
        select(CrossSharing).where(
            CrossSharing.side == "consumer",
            CrossSharing.state == "granted",
            CrossSharing.grant_expires_at <= now,
        )
    ).all()
    for row in rows:
        _transition(session, row, "expired", actor="system")
    return len(rows)


APPLIERS = {APPLY: _receive_apply, STATE: _receive_state}


# ---------------------------------------------------------------- stalls


def stalled(
    session: Session, now: dt.datetime | None = None, warn_workdays: int = WARN_WORKDAYS
) -> list[dict[str, Any]]:
    """Pending applications (either side) past their deadline, within ``warn_workdays``
    working days of it, or whose deadline cannot be computed: what both authorities
    are shown before an application can hang silently."""
    now = now or utcnow()
    today = beijing_date(now)
    calendar = Calendar(session)
    out = []
    rows = session.scalars(
        select(CrossSharing).where(CrossSharing.state.in_(PENDING)).order_by(CrossSharing.deadline)
    ).all()
    for row in rows:
        left: int | None = None
        if row.deadline is not None:
            last = beijing_date(row.deadline) - dt.timedelta(days=1)
            try:
                if today > last:
                    left = -calendar.workdays_between(last, today)
                else:
                    left = calendar.workdays_between(today - dt.timedelta(days=1), last)
            except ScheduleMissing:
                left = None
        if left is not None and left > warn_workdays:
            continue
        peer = row.provider_node if row.side == "consumer" else row.consumer_node
        if left is None:
            when = "答复期限无法计算"
        elif left < 0:
            when = f"已超过答复期限 {-left} 个工作日"
        else:
            when = f"距答复期限还有 {left} 个工作日"
        out.append(
            {
                "id": row.id,
                "side": row.side,
                "ref": row.ref,
                "peer": peer,
                "state": row.state,
                "deadline": row.deadline,
                "workdays_left": left,
                "line": (
                    f"{'向' if row.side == 'consumer' else '来自'}节点 {peer} 的共享申请"
                    f"（{row.org_name}，{row.entry_name or f'目录 {row.entry_id}'}）"
                    f"{SHARING_LABELS[row.state]}，{when}"
                ),
            }
        )
    return out


def listing(session: Session, org_id: int | None = None) -> list[CrossSharing]:
    stmt = select(CrossSharing).order_by(CrossSharing.id.desc())
    if org_id is not None:
        stmt = stmt.where(CrossSharing.side == "consumer", CrossSharing.org_ref == org_id)
    return list(session.scalars(stmt))


def providers(session: Session) -> list[str]:
    """The other nodes this node can send an application to (its directory)."""
    from gongshu.federation.models import Member

    node = identity.me(session)
    if node.role == "province":
        ids = session.scalars(select(Member.node_id).where(Member.role.in_(("city", "county"))))
        return sorted(ids)
    row = directory.cached(session)
    listed = [n["node_id"] for n in json.loads(row.document)["nodes"]] if row else []
    ids = {*listed, *([node.anchor_node] if node.anchor_node else [])}
    return sorted(i for i in ids if i != node.node_id and not i.startswith("national-"))


def get(session: Session, sharing_id: int) -> CrossSharing:
    row = session.get(CrossSharing, sharing_id)
    if row is None:
        raise NotFound(f"跨节点共享申请不存在：{sharing_id}")
    return row


# ---------------------------------------------------------------- the data


class FetchRefused(Exception):
    REASONS = {
        "bad_signature": 403,
        "unknown_node": 403,
        "wrong_receiver": 409,
        "malformed": 409,
        "replay": 409,
        "not_found": 404,
        "inactive": 403,
    }

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.status = self.REASONS[code]
        super().__init__(message)


def fetch_request(
    session: Session, row: CrossSharing, private: bytes, *, offset: int = 0, limit: int = 100
) -> bytes:
    """Consumer: the signed, numbered request for a page of rows (the wire bytes)."""
    if row.side != "consumer":
        raise Conflict("只有申请方节点可以取数")
    if row.state != "granted":
        raise Conflict(f"该跨节点共享申请{SHARING_LABELS[row.state]}，不能取得数据")
    if not 0 <= offset or not 1 <= limit <= MAX_FETCH_ROWS:
        raise InvalidField(f"每次取数 1 至 {MAX_FETCH_ROWS} 行", field="limit")
    row.fetches += 1
    doc = {
        "v": envelope.VERSION,
        "from": row.consumer_node,
        "to": row.provider_node,
        "ref": row.ref,
        "n": row.fetches,
        "offset": offset,
        "limit": limit,
        "at": utcnow().isoformat(),
    }
    text, signature = envelope.sign(private, doc)
    return json.dumps({"request": text, "signature": signature}).encode()


def serve(session: Session, raw: bytes, settings: Any, private: bytes) -> dict[str, Any]:  # noqa: ANN401
    """Provider: check a fetch request (signature under the directory's key for the
    consumer node, this node as receiver, a number above the last one served: no
    replay) and answer the rows through the egress door for the grant, masked and
    watermarked for the consuming organization; a signed delivery note with them."""
    try:
        wire = json.loads(raw)
        text, signature = wire["request"], wire["signature"]
        doc = json.loads(text)
        if envelope.canonical(doc).decode() != text:
            raise ValueError("正文不是规范 JSON")
        sender, ref, n = str(doc["from"]), str(doc["ref"]), int(doc["n"])
        offset, limit = int(doc["offset"]), int(doc["limit"])
    except (ValueError, KeyError, TypeError) as exc:
        raise FetchRefused("malformed", f"取数请求格式错误：{exc}") from exc
    node = identity.me(session)
    if doc.get("to") != node.node_id:
        raise FetchRefused("wrong_receiver", f"取数请求的接收方 {doc.get('to')} 不是本节点")
    peer = directory.lookup(session, sender)
    if peer is None:
        raise FetchRefused("unknown_node", f"未知节点：{sender} 不在节点目录中")
    if not envelope.signature_ok(peer["public_key"], text, signature):
        raise FetchRefused("bad_signature", f"签名无效：与节点目录中 {sender} 的公钥不符")
    row = session.scalar(
        select(CrossSharing).where(
            CrossSharing.side == "provider",
            CrossSharing.consumer_node == sender,
            CrossSharing.ref == ref,
        )
    )
    if row is None:
        raise FetchRefused("not_found", f"本节点没有 {sender} 的共享申请 {ref}")
    if n <= row.fetches:
        raise FetchRefused("replay", f"重放：第 {n} 号取数请求已处理过（已至第 {row.fetches} 号）")
    if not 0 <= offset or not 1 <= limit <= MAX_FETCH_ROWS:
        raise FetchRefused("malformed", f"每次取数 1 至 {MAX_FETCH_ROWS} 行")
    if row.grant_id is None or row.proxy_user_id is None:
        raise FetchRefused("inactive", f"该共享申请{SHARING_LABELS[row.state]}，尚无授权")
    row.fetches = n
    proxy = session.get(User, row.proxy_user_id)
    try:
        out = egress.deliver(
            session,
            row.grant_id,
            actor=proxy,
            fmt="csv",
            offset=offset,
            limit=limit,
            in_memory=True,
            datasets_dir=settings.datasets_dir,
            work_dir=settings.data_dir / "egress",
            secret=settings.secret_key,
        )
    except GongshuError as exc:  # revoked, expired: the door refuses
        raise FetchRefused("inactive", str(exc)) from exc
    data = out.read_bytes()
    note = {
        "v": envelope.VERSION,
        "from": node.node_id,
        "to": sender,
        "ref": ref,
        "n": n,
        "request": envelope.digest(text.encode()),
        "delivery": out.delivery.token,
        "recipient": out.delivery.recipient,
        "rows": out.delivery.rows,
        "sha256": out.delivery.sha256,
        "format": "csv",
        "version": _version_no(session, out.delivery.dataset_version_id),
    }
    note_text, note_sig = envelope.sign(private, note)
    record(
        session,
        "federation.sharing_served",
        actor=f"node:{sender}",
        subject=_subject(row),
        payload={"n": n, "delivery": out.delivery.token, "rows": out.delivery.rows,
                 "sha256": out.delivery.sha256, "grant": row.grant_id},
    )  # fmt: skip
    return {"note": note_text, "signature": note_sig, "data": base64.b64encode(data).decode()}


def _version_no(session: Session, version_id: int) -> int:
    version = session.get(DatasetVersion, version_id)
    return version.version_no if version is not None else 0


def take(session: Session, row: CrossSharing, answer: dict[str, Any], *, actor: User) -> bytes:
    """Consumer: check the provider's signed delivery note against the bytes and the
    request, record the receipt in this node's ledger; the delivered bytes."""
    peer = directory.lookup(session, row.provider_node)
    note_text, signature = answer.get("note"), answer.get("signature")
    if peer is None or not isinstance(note_text, str) or not isinstance(signature, str):
        raise Conflict("数据提供节点的交付说明缺失")
    if not envelope.signature_ok(peer["public_key"], note_text, signature):
        raise Conflict("数据提供节点的交付说明签名无效")
    note = json.loads(note_text)
    data = base64.b64decode(answer.get("data") or "")
    if (note.get("ref"), note.get("n")) != (row.ref, row.fetches):
        raise Conflict("交付说明与取数请求不符")
    if hashlib.sha256(data).hexdigest() != note.get("sha256"):
        raise Conflict("收到的数据与交付说明的摘要不符")
    record(
        session,
        "federation.sharing_fetched",
        actor=actor.actor,
        subject=_subject(row),
        payload={"provider_node": row.provider_node, "n": row.fetches,
                 "delivery": note["delivery"], "rows": note["rows"], "sha256": note["sha256"],
                 "version": note.get("version"), "note": envelope.digest(note_text.encode())},
    )  # fmt: skip
    if isinstance(note.get("version"), int) and "fetched_version" in (row.request or {}):
        # a standing return (``returned``): the version now held, and at least as new
        # as the province has announced
        seen = max(note["version"], int(row.request.get("version") or 0))
        row.request = {**row.request, "fetched_version": note["version"], "version": seen}
    return data


def fetch(
    session: Session,
    sharing_id: int,
    *,
    actor: User,
    settings: Any,
    offset: int = 0,
    limit: int = 100,  # noqa: ANN401
) -> bytes:
    """Consumer: a page of rows straight from the provider node (nothing through the
    province). The caller commits."""
    row = get(session, sharing_id)
    if row.side != "consumer" or (actor.org_id != row.org_ref and "admin" not in actor.roles):
        raise NotFound(f"跨节点共享申请不存在：{sharing_id}")
    peer = directory.lookup(session, row.provider_node)
    if peer is None:
        raise Conflict(f"节点目录中没有数据提供节点 {row.provider_node}")
    raw = fetch_request(session, row, identity.private_key(settings), offset=offset, limit=limit)
    session.commit()  # the number is used even if the answer is lost (no replay)
    try:
        answer = client.post(peer["address"] + "/federation/v1/sharing/fetch", raw)
    except client.PeerRefused as exc:
        raise Conflict(f"数据提供节点拒绝取数：{exc}") from exc
    except client.Unreachable as exc:
        raise Conflict(f"无法连接数据提供节点 {row.provider_node}") from exc
    return take(session, row, answer, actor=actor)


# ---------------------------------------------------------------- the tick


def sync(session: Session, settings: Any) -> dict[str, Any]:  # noqa: ANN401
    """One round on any province, city or county node: follow the local answers and
    grants (provider), expire ended grants (consumer), queue the state messages and
    deliver every ``sharing`` chain with a backlog straight to its peer."""
    private = identity.private_key(settings)
    moved = follow(session) + expire(session)
    queued = report(session, private)
    if identity.me(session).role == "province":
        from gongshu.federation import returned  # returned builds on this module

        queued += returned.refresh(session, private)
    session.commit()
    me = identity.me(session).node_id
    results = {}
    waiting = session.scalars(
        select(Message.receiver)
        .where(Message.direction == "out", Message.channel == CHANNEL, Message.acked.is_(False))
        .distinct()
    ).all()
    for peer_id in waiting:
        peer = directory.lookup(session, peer_id)
        if peer is None:
            results[peer_id] = {"state": "unknown-peer"}
            continue
        results[peer_id] = delivery.deliver(
            session,
            sender=me,
            peer=peer_id,
            peer_key=peer["public_key"],
            base=peer["address"] + "/federation/v1",
            channel=CHANNEL,
        )
    return {"moved": moved, "queued": queued, "peers": results}
