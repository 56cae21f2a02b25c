"""Rights requests: filed by a verified person, found across entries, handled by each
provider on the 15-working-day clock (PIP-5, PIP-6; PIA-A points 17 to 19).

Flow: ``file_request`` checks the person's verified identity, finds their rows in
the latest version of every entry through the discovery tags (``finder``), and
opens one ``RightsMatch`` per entry for its provider. ``handle`` executes the
provider's answer: deletion and correction write a new version with tombstones
(``tombstones``); access, copy and transfer create a grant to the person, whose
rows then leave only through the egress door; an explanation or a refusal is a
written answer. When every match is handled the request is answered; the reply
letter is generated from these records (``letters``).

A deletion also searches older stored versions at filing, and handling it starts an
erasure (``erasure``): a job takes the rows out of every stored version and
quarantine, except versions under a legal hold, which the answer names.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import notify, otp
from gongshu.accounts.models import User
from gongshu.accounts.notify import Notifier
from gongshu.accounts.service import identity_proven
from gongshu.catalog import service as catalog
from gongshu.egress import service as egress
from gongshu.egress.verify import Checker
from gongshu.egress.versions import column_tags
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.privacy import erasure, finder, tombstones
from gongshu.privacy.clock import RIGHTS_ANSWER, on_time
from gongshu.privacy.errors import (
    AlreadyHandled,
    MatchNotFound,
    NoMobileOnRecord,
    NotHandler,
    NotThePerson,
    RequestNotFound,
)
from gongshu.privacy.models import MATCH_OUTCOMES, REQUEST_KINDS, RightsMatch, RightsRequest
from gongshu.privacy.person import person_hash, valid_id
from gongshu.protect.crypto import derive_key, sm4_gcm_decrypt, sm4_gcm_encrypt
from gongshu.storage.models import DatasetVersion
from gongshu.timeutil import utcnow
from gongshu.workdays import start_clock

EXPORT_DAYS = 30
EXPORT_KINDS = ("access", "copy", "transfer", "correct", "supplement")
ACTIONS = {
    "delete": "deleted",
    "correct": "corrected",
    "export": "exported",
    "explain": "explained",
    "refuse": "refused",
}
ALLOWED_ACTIONS = {
    "access": ("export", "refuse"),
    "copy": ("export", "refuse"),
    "transfer": ("export", "refuse"),
    "correct": ("correct", "refuse"),
    "supplement": ("correct", "refuse"),
    "delete": ("delete", "refuse"),
    "explain": ("explain", "refuse"),
}


def _lookup_key(secret: str) -> bytes:
    return derive_key(secret.encode(), "gongshu/privacy/rights-lookup", 16)


def _seal(secret: str, request_aad: bytes, values: dict) -> str:
    blob = sm4_gcm_encrypt(_lookup_key(secret), json.dumps(values).encode(), request_aad)
    return base64.b64encode(blob).decode()


def lookup(req: RightsRequest, secret: str) -> dict:
    """The ID number and mobile the person gave; available only while the request is open."""
    if not req.lookup_enc:
        raise AlreadyHandled("申请已办结，查找信息已删除")
    data = sm4_gcm_decrypt(
        _lookup_key(secret), base64.b64decode(req.lookup_enc), req.person_hash.encode()
    )
    return json.loads(data)


def _the_person(user: User, id_number: str, secret: str) -> tuple[str, str]:
    """(number, person hash) when ``id_number`` is the one the account was verified with."""
    if not identity_proven(user) or not user.id_number_hash:
        raise NotThePerson("请先完成实名认证（“实名核验”页面）后再行使个人信息权利")
    number = valid_id(id_number)
    person = person_hash(number, secret)
    if person != user.id_number_hash:
        raise NotThePerson("身份证号码与实名认证信息不一致，请填写本人的居民身份证号码")
    return number, person


def request_code(
    session: Session,
    *,
    user: User,
    id_number: str,
    checker: Checker,
    secret: str,
    notifier: Notifier | None = None,
    caller: str = "",
) -> str:
    """Send a one-time code to the mobile number the resident register holds for this
    person (PIP-5: the request is made by the person, not by whoever knows the number).
    The number is found through the door's verification service and returned only
    masked (138****1234); none on record fails closed."""
    number, _person = _the_person(user, id_number, secret)
    phone = checker.mobile_on_record(session, number, by=user.actor, caller=caller or user.actor)
    if phone is None:
        raise NoMobileOnRecord(
            "户籍登记信息中没有您唯一的手机号码，无法发送验证码；"
            "请到户籍窗口更新手机号码，或到数据提供单位窗口书面申请"
        )
    row = otp.issue(
        session,
        user,
        purpose="rights",
        mobile=phone,
        notifier=notifier or notify.notifier(),
        secret=secret,
    )
    return row.sent_to


def file_request(
    session: Session,
    *,
    user: User,
    kind: str,
    id_number: str,
    code: str,
    secret: str,
    datasets_dir: Path,
    details: str = "",
    mobile: str | None = None,
    corrections: dict[str, str] | None = None,
    now: datetime | None = None,
) -> RightsRequest:
    """A verified person's request; their records are found at once (PIP-5).

    The ID number must be the one the account was verified with, and ``code`` the
    one-time code just sent to the mobile number on record (``request_code``): a
    wrong, expired, used or exhausted code refuses the request and nothing of it is
    written (the attempt is counted). The ID number is kept only encrypted, to
    filter the person's rows, and erased when the request closes.
    """
    if kind not in REQUEST_KINDS:
        raise InvalidInput(f"请求类型无效：{kind}，可选 {'、'.join(REQUEST_KINDS.values())}")
    number, person = _the_person(user, id_number, secret)
    phone = "".join(ch for ch in (mobile or "") if ch.isdigit())[-11:] or None
    if mobile and (phone is None or len(phone) != 11):
        raise InvalidInput("手机号码无效：须为 11 位数字")
    if kind in ("correct", "supplement") and not corrections:
        raise InvalidInput("更正或补充须写明字段和正确的内容")
    otp.redeem(session, user, code, purpose="rights", secret=secret)
    req = RightsRequest(
        user_id=user.id,
        person_hash=person,
        kind=kind,
        details=(details or "").strip(),
        corrections={k: str(v) for k, v in (corrections or {}).items()},
        received_at=now or utcnow(),
    )
    req.lookup_enc = _seal(secret, person.encode(), {"id": number, "mobile": phone})
    start_clock(session, RIGHTS_ANSWER, req)
    session.add(req)
    session.flush()
    found = finder.find(
        session,
        id_number=number,
        mobile=phone,
        datasets_dir=datasets_dir,
        older=kind == "delete",  # PIP-6: rows left only in older stored versions go too
    )
    for f in found:
        session.add(
            RightsMatch(
                request_id=req.id,
                entry_id=f.entry.id,
                provider_org_id=f.entry.provider_org_id,
                dataset_version_id=f.version.id,
                columns=f.columns,
                rows=f.rows_touched,
            )
        )
    session.flush()
    record(
        session,
        "rights.filed",
        actor=user.actor,
        subject=f"rights:{req.id}",
        payload={
            "kind": kind,
            "person": person,
            "deadline": req.deadline,
            "deadline_warning": req.deadline_warning,
            "found": [{"entry": f.entry.id, "rows": len(f.row_numbers)} for f in found],
        },
    )
    if not found:
        _close(session, req, actor=user, now=req.received_at)
    return req


def get(session: Session, request_id: int) -> RightsRequest:
    req = session.get(RightsRequest, request_id)
    if req is None:
        raise RequestNotFound(f"权利请求不存在：{request_id}")
    return req


def matches(session: Session, req: RightsRequest) -> list[RightsMatch]:
    return list(
        session.scalars(
            select(RightsMatch).where(RightsMatch.request_id == req.id).order_by(RightsMatch.id)
        )
    )


def can_view(session: Session, req: RightsRequest, actor: User) -> bool:
    if req.user_id == actor.id or "admin" in actor.roles:
        return True
    parts = matches(session, req)
    if actor.org is not None and actor.org.kind == "data_authority":
        # GOV-2: the data authority supervises the clock of providers in its area.
        from gongshu.accounts.models import Organization
        from gongshu.exchange.supervision import area_prefix

        area = area_prefix(actor.org)
        return any(
            session.get(Organization, m.provider_org_id).region_code.startswith(area) for m in parts
        )
    return actor.org_id is not None and any(m.provider_org_id == actor.org_id for m in parts)


def get_visible(session: Session, request_id: int, actor: User) -> RightsRequest:
    req = get(session, request_id)
    if not can_view(session, req, actor):
        raise RequestNotFound(f"权利请求不存在：{request_id}")
    return req


def of_user(session: Session, user: User) -> list[RightsRequest]:
    return list(
        session.scalars(
            select(RightsRequest)
            .where(RightsRequest.user_id == user.id)
            .order_by(RightsRequest.id.desc())
        )
    )


def inbox(session: Session, org_id: int) -> list[tuple[RightsMatch, RightsRequest]]:
    """A provider's matches, unhandled first, earliest deadline first."""
    rows = session.execute(
        select(RightsMatch, RightsRequest)
        .join(RightsRequest, RightsRequest.id == RightsMatch.request_id)
        .where(RightsMatch.provider_org_id == org_id)
        .order_by(RightsMatch.outcome.is_not(None), RightsRequest.deadline, RightsRequest.id)
    )
    return [(m, r) for m, r in rows]


def handle(
    session: Session,
    match_id: int,
    *,
    actor: User,
    action: str,
    secret: str,
    datasets_dir: Path,
    note: str = "",
    values: dict[str, str] | None = None,
    mobile_confirmed: bool = False,
    now: datetime | None = None,
) -> RightsMatch:
    """The provider's answer for one entry (PIP-5, PIP-6). Every step goes to the ledger.

    A match found only by the (unverified) mobile number is deleted, corrected or
    exported only when the provider confirms the number is the person's."""
    match = session.get(RightsMatch, match_id)
    if match is None:
        raise MatchNotFound(f"待办记录不存在：{match_id}")
    if "admin" not in actor.roles and actor.org_id != match.provider_org_id:
        raise NotHandler("只有数据提供单位可以办理本单位目录的请求")
    if match.outcome is not None:
        raise AlreadyHandled("该目录的请求已办理")
    req = get(session, match.request_id)
    if action not in ALLOWED_ACTIONS[req.kind]:
        raise InvalidInput(f"「{REQUEST_KINDS[req.kind]}」请求不能以此方式办理：{action}")
    if action in ("refuse", "explain") and not (note or "").strip():
        raise InvalidField("不予办理或解释说明须写明理由和依据", field="note")
    found = lookup(req, secret)
    version = session.get(DatasetVersion, match.dataset_version_id)
    entry = catalog.get(session, match.entry_id)
    rows: list[int] = []
    mentions: dict[str, list[int]] = {}
    by_mobile_only = not set(match.columns) & set(finder.text_columns(version)) and (
        finder.ID_CODE
        not in {code for c in match.columns for code in column_tags(entry, version).get(c, [])}
    )  # a mention in free text is found by the ID number
    if action in ("delete", "correct", "export") and by_mobile_only and not mobile_confirmed:
        raise InvalidField(
            "该目录仅以手机号码匹配到记录，手机号码未经核验：请先核实号码属于申请人本人，再确认办理",
            field="mobile_confirmed",
        )
    if action in ("delete", "correct", "export"):
        # Re-find in the latest version: a load since filing may have moved the rows.
        hits = finder.find(
            session,
            id_number=found["id"],
            mobile=found["mobile"],
            datasets_dir=datasets_dir,
            entry_id=entry.id,
        )
        if hits:
            version = hits[0].version
        rows = hits[0].row_numbers if hits else []
        mentions = hits[0].mentions if hits else {}
    if action == "delete" and (rows or mentions):
        # Free text and JSON of other rows: the mention is masked, the row stays.
        stone = tombstones.erase(
            session,
            version,
            rows,
            person=req.person_hash,
            request_id=req.id,
            actor=actor,
            datasets_dir=datasets_dir,
            masker=finder.mention_masker(mentions, found["id"]) if mentions else None,
            masked_columns=sorted(mentions),
        )
        match.new_version_id = stone.new_version_id
    if action == "delete":
        # PIP-4, PIP-6: the rows leave every stored version too, not only the served one.
        erasure.start(
            session,
            request_id=req.id,
            match_id=match.id,
            entry_id=entry.id,
            person_hash=req.person_hash,
            lookup=found,
            secret=secret,
            due_at=erasure.due(req),
            datasets_dir=datasets_dir,
            actor=actor,
            now=now,
        )
    elif action == "correct":
        wanted = {k: v for k, v in (values or req.corrections).items() if str(v).strip()}
        if rows:
            stone = tombstones.correct(
                session,
                version,
                rows,
                wanted,
                person=req.person_hash,
                request_id=req.id,
                actor=actor,
                datasets_dir=datasets_dir,
            )
            match.new_version_id = stone.new_version_id
    if rows and (action == "export" or (action == "correct" and req.kind in EXPORT_KINDS)):
        grant = egress.create_grant(
            session,
            entry,
            recipient_user=session.get(User, req.user_id),
            purpose=f"个人信息权利请求 #{req.id}（{REQUEST_KINDS[req.kind]}本人信息）",
            source="rights",
            actor=actor,
            days=EXPORT_DAYS,
            policy="share-conditional",  # the person's own data: identifiers pass
            # The person's rows by position in a pinned version: the grant and its
            # ledger entry never hold the ID number (a correction keeps positions).
            dataset_version_id=match.new_version_id or version.id,
            row_filter=[{"op": "rows", "value": [int(r) for r in rows]}],
            source_ref=f"rights:{req.id}",
        )
        match.grant_id = grant.id
    match.outcome = ACTIONS[action]
    match.note = (note or "").strip() or None
    match.handled_by = actor.actor
    match.handled_at = now or utcnow()
    session.flush()
    record(
        session,
        "rights.handled",
        actor=actor.actor,
        subject=f"rights:{req.id}",
        payload={
            "match": match.id,
            "entry": entry.id,
            "outcome": match.outcome,
            "new_version": match.new_version_id,
            "grant": match.grant_id,
            "note": match.note,
            "mobile_confirmed": bool(mobile_confirmed and by_mobile_only),
        },
    )
    if all(m.outcome is not None for m in matches(session, req)):
        _close(session, req, actor=actor, now=match.handled_at)
    return match


def _close(session: Session, req: RightsRequest, *, actor: User, now: datetime) -> None:
    done = matches(session, req)
    req.status, req.answered_at, req.lookup_enc = "answered", now, None
    req.answer = (
        "；".join(
            f"{catalog.get(session, m.entry_id).name}：{MATCH_OUTCOMES[m.outcome]}"
            f"{erasure.held_note(session, m.id)}"
            for m in done
        )
        if done
        else "未在平台各目录的最新数据中找到与您身份证号码（或手机号码）相关的记录"
    )
    session.flush()
    record(
        session,
        "rights.answered",
        actor=actor.actor,
        subject=f"rights:{req.id}",
        payload={"answered_at": now, "on_time": on_time(req), "entries": len(done)},
    )
