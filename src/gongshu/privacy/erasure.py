"""Erasure that is real: a person's rows leave every stored version (PIP-4, PIP-6).

A deletion handled by the provider (``service.handle``) writes a new version without
the rows (``tombstones``) and starts an :class:`Erasure`: the ``privacy.erasure`` job
(``privacy.jobs``; its payload names the erasure's id, never a path or the ID number)
then finds the person in every stored version of the entry and in each version's
quarantine of rejected rows, and rewrites those files without the rows, keeping each
version's identity (``storage.rewrite``: atomic, recorded in the ledger with the old
and new hash and row counts, old files unlinked on commit).

A legal hold (:class:`LegalHold`, placed by a platform administrator or by the data
authority reviewing the provider's area, with a reason, a case reference and an end)
names one version that must stay as it is: the erasure leaves it, records that it was
held, tells the person in the answer, and runs again when the hold ends. A held
version is superseded by the erasure's new version, so the egress door never serves
it (``egress.versions.version_for``); its tombstone stays.

The ID number the job needs is kept SM4-GCM encrypted on the erasure and erased when
nothing is left to rewrite. The job runs as soon as a worker takes it, well inside the
15-day period (PIP-4) and the request's 15-working-day deadline (PIP-6); the
completion time and whether it met the deadline are recorded.
"""

from __future__ import annotations

import base64
import json
from bisect import bisect_left
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.jurisdiction import AREA
from gongshu.accounts.jurisdiction import require as require_jurisdiction
from gongshu.accounts.models import Organization, User
from gongshu.catalog import service as catalog
from gongshu.egress.errors import NotClassified
from gongshu.egress.versions import column_tags
from gongshu.errors import InvalidInput, NotFound
from gongshu.jobs import enqueue
from gongshu.ledger import record
from gongshu.privacy import finder
from gongshu.privacy.erasure_models import Erasure, LegalHold
from gongshu.privacy.errors import NotHandler
from gongshu.privacy.models import RightsRequest
from gongshu.protect.crypto import derive_key, sm4_gcm_decrypt, sm4_gcm_encrypt
from gongshu.quality.models import CorrectionTask, QualityReport
from gongshu.storage.models import DatasetVersion
from gongshu.storage.rewrite import rewrite_quarantine, rewrite_version
from gongshu.timeutil import BEIJING, as_utc, utcnow

ERASURE_JOB = "privacy.erasure"
DAYS = 15  # PIP-4: deleted within 15 days
ACTOR = "system:erasure"
REASON = "依个人申请删除记录，清除各存储版本中的本人数据"


# ---------------------------------------------------------------- the sealed lookup


def _key(secret: str) -> bytes:
    return derive_key(secret.encode(), "gongshu/privacy/erasure-lookup", 16)


def _seal(secret: str, person: str, values: dict) -> str:
    blob = sm4_gcm_encrypt(_key(secret), json.dumps(values).encode(), person.encode())
    return base64.b64encode(blob).decode()


def _open(secret: str, erasure: Erasure) -> dict:
    data = sm4_gcm_decrypt(
        _key(secret), base64.b64decode(erasure.lookup_enc), erasure.person_hash.encode()
    )
    return json.loads(data)


# ---------------------------------------------------------------- legal holds


def _aware(value: datetime) -> datetime:
    """A time typed by a person: naive means Beijing time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return as_utc(value)


def _may_hold(session: Session, actor: User, entry) -> None:  # noqa: ANN001 - CatalogEntry
    if "admin" in (actor.roles or []):
        return
    org = actor.org
    if org is None or org.kind != "data_authority" or "reviewer" not in (actor.roles or []):
        raise NotHandler("只有平台管理员或数据主管部门审核员可以登记法律保全")
    provider = session.get(Organization, entry.provider_org_id)
    require_jurisdiction(
        session,
        actor,
        provider.region_code,
        reach=AREA,
        action="为",
        what=f"数据目录「{entry.name}」登记法律保全",
        law="个人信息保护法第四十七条",
    )


def place_hold(
    session: Session,
    version_id: int,
    *,
    actor: User,
    reason: str,
    case_reference: str,
    expires_at: datetime,
    now: datetime | None = None,
) -> LegalHold:
    """Record a legal hold on one stored version (a court, prosecutor or supervisory
    case that needs it kept as it is)."""
    version = storage.get(session, version_id)
    entry = catalog.get(session, version.entry_id)
    _may_hold(session, actor, entry)
    reason, case_reference = (reason or "").strip(), (case_reference or "").strip()
    if not reason:
        raise InvalidInput("法律保全须写明理由和依据（理由）")
    if not case_reference:
        raise InvalidInput("法律保全须写明案号或文书编号（案号）")
    if len(case_reference) > 128:
        raise InvalidInput("案号过长（案号）：不超过 128 个字符")
    ends = _aware(expires_at)
    if ends <= as_utc(now or utcnow()):
        raise InvalidInput("法律保全的截止时间须晚于现在（截止时间）")
    hold = LegalHold(
        dataset_version_id=version.id,
        entry_id=entry.id,
        reason=reason,
        case_reference=case_reference,
        expires_at=ends,
        placed_by=actor.actor,
        placed_at=now or utcnow(),
    )
    session.add(hold)
    session.flush()
    record(
        session,
        "privacy.legal_hold_placed",
        actor=actor.actor,
        subject=f"entry:{entry.id}",
        payload={
            "hold": hold.id,
            "dataset_version": version.id,
            "version_no": version.version_no,
            "case_reference": case_reference,
            "reason": reason,
            "expires_at": ends,
        },
    )
    return hold


def release_hold(
    session: Session, hold_id: int, *, actor: User, now: datetime | None = None
) -> LegalHold:
    """End a hold before its date; erasures it deferred run again at once."""
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise NotFound(f"法律保全记录不存在（编号）：{hold_id}")
    _may_hold(session, actor, catalog.get(session, hold.entry_id))
    if hold.released_at is not None:
        return hold
    hold.released_at, hold.released_by = now or utcnow(), actor.actor
    session.flush()
    record(
        session,
        "privacy.legal_hold_released",
        actor=actor.actor,
        subject=f"entry:{hold.entry_id}",
        payload={"hold": hold.id, "dataset_version": hold.dataset_version_id},
    )
    for erasure in session.scalars(
        select(Erasure).where(Erasure.entry_id == hold.entry_id, Erasure.status == "held")
    ):
        _enqueue(session, erasure, key=f"{ERASURE_JOB}:{erasure.id}:released:{hold.id}")
    return hold


def active_hold(session: Session, version_id: int, now: datetime | None = None) -> LegalHold | None:
    at = as_utc(now or utcnow())
    for hold in session.scalars(
        select(LegalHold)
        .where(LegalHold.dataset_version_id == version_id, LegalHold.released_at.is_(None))
        .order_by(LegalHold.expires_at.desc())
    ):
        if as_utc(hold.expires_at) > at:
            return hold
    return None


def _held_entry(version: DatasetVersion, hold: LegalHold) -> dict:
    return {
        "version_no": version.version_no,
        "hold": hold.id,
        "case_reference": hold.case_reference,
        "expires_at": as_utc(hold.expires_at).isoformat(),
    }


# ---------------------------------------------------------------- the erasure


def _enqueue(
    session: Session, erasure: Erasure, *, key: str, after: datetime | None = None
) -> None:
    enqueue(session, ERASURE_JOB, {"erasure": erasure.id}, dedupe_key=key, run_after=after)


def due(req) -> datetime:  # noqa: ANN001 - RightsRequest
    """The erasure's deadline: the request's (15 working days, PIP-6) or 15 days from
    receipt (PIP-4), whichever comes first; 15 days when the working-day clock has no
    schedule for the year yet (CLK-4)."""
    days = as_utc(req.received_at) + timedelta(days=DAYS)
    return min(days, as_utc(req.deadline)) if req.deadline is not None else days


def start(
    session: Session,
    *,
    request_id: int,
    match_id: int,
    entry_id: int,
    person_hash: str,
    lookup: dict,
    secret: str,
    due_at: datetime | None,
    datasets_dir,  # noqa: ANN001 - Path
    actor: User,
    now: datetime | None = None,
) -> Erasure:
    """Record the erasure and queue its job (in the caller's transaction). The held
    versions holding the person now are recorded at once, so the answer names them."""
    erasure = Erasure(
        request_id=request_id,
        match_id=match_id,
        entry_id=entry_id,
        person_hash=person_hash,
        lookup_enc=_seal(secret, person_hash, {"id": lookup["id"], "mobile": lookup["mobile"]}),
        due_at=due_at,
        created_by=actor.actor,
        created_at=now or utcnow(),
    )
    holds = {
        v.id: (v, hold)
        for v in storage.versions_of(session, entry_id)
        if (hold := active_hold(session, v.id, now)) is not None
    }
    hits = (
        finder.find_in_versions(
            catalog.get(session, entry_id),
            [v for v, _ in holds.values()],
            id_number=lookup["id"],
            mobile=lookup["mobile"],
            datasets_dir=datasets_dir,
        )
        if holds
        else {}
    )
    erasure.held = [
        _held_entry(v, hold)
        for vid, (v, hold) in sorted(holds.items())
        if vid in hits or v.quarantine_path  # a quarantine is read only by the job
    ]
    session.add(erasure)
    session.flush()
    _enqueue(session, erasure, key=f"{ERASURE_JOB}:{erasure.id}")
    record(
        session,
        "privacy.erasure_queued",
        actor=actor.actor,
        subject=f"rights:{request_id}",
        payload={
            "erasure": erasure.id,
            "entry": entry_id,
            "person": person_hash,
            "due_at": due_at,
            "held": erasure.held,
        },
    )
    return erasure


def _quarantine_change(id_number: str, mobile_columns: list[str], mobile: str | None):  # noqa: ANN202 - table -> table
    """Rejected rows keep every column as text: a row is the person's when any cell is
    their ID number (or, in an entry without an ID column, a mobile-tagged cell their
    confirmed mobile); mentions of the ID in other rows are masked."""

    def change(table: pa.Table) -> pa.Table:
        mine = pa.array([False] * table.num_rows, pa.bool_())
        texts = {}
        for name in table.column_names:
            col = table.column(name)
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                continue
            texts[name] = []
            clean = pc.utf8_upper(pc.utf8_trim_whitespace(col))
            mine = pc.or_(mine, pc.fill_null(pc.equal(clean, id_number), False))
            if mobile and name in mobile_columns:
                digits = pc.replace_substring_regex(col, "[^0-9]", "")
                tail = pc.utf8_slice_codeunits(digits, -11)
                mine = pc.or_(mine, pc.fill_null(pc.equal(tail, mobile), False))
        kept = table.filter(pc.invert(mine))
        masked = finder.mention_masker(texts, id_number)
        batches = [masked(b) for b in kept.to_batches()]
        return pa.Table.from_batches(batches, schema=kept.schema)

    return change


def run(
    session: Session,
    erasure_id: int,
    *,
    datasets_dir,  # noqa: ANN001 - Path
    secret: str,
    now: datetime | None = None,
) -> Erasure:
    """Rewrite every stored version and quarantine of the entry without the person's
    rows, except versions under an active legal hold. Safe to run again."""
    erasure = session.get(Erasure, erasure_id)
    if erasure is None or erasure.lookup_enc is None:
        return erasure  # already complete
    found = _open(secret, erasure)
    entry = catalog.get(session, erasure.entry_id)
    # Two erasures of one entry (two people) must not both rewrite a version from its
    # old file: the entry's version rows are locked until this one commits
    # (PostgreSQL; SQLite's one writer already serializes them), and read afresh.
    session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.entry_id == entry.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    versions = list(reversed(storage.versions_of(session, entry.id)))  # oldest first
    hits = finder.find_in_versions(
        entry, versions, id_number=found["id"], mobile=found["mobile"], datasets_dir=datasets_dir
    )
    ref = f"erasure:{erasure.id}"
    rewritten, held, scrubbed = list(erasure.rewritten or []), [], []
    examples = 0
    for version in versions:
        hit = hits.get(version.id)
        if hit is None and not version.quarantine_path:
            continue
        hold = active_hold(session, version.id, now)
        if hold is not None:
            held.append(_held_entry(version, hold))
            continue
        if hit is not None:
            masker = finder.mention_masker(hit.mentions, found["id"]) if hit.mentions else None

            def change(batch, mask, masker=masker):  # noqa: ANN001, ANN202
                kept = batch.filter(pc.invert(mask))
                return masker(kept) if masker is not None else kept

            rewritten.append(
                rewrite_version(
                    session,
                    datasets_dir,
                    version,
                    change,
                    rows=hit.row_numbers,
                    by=ACTOR,
                    reason=REASON,
                    ref=ref,
                )
            )
            examples += _scrub_examples(session, version, hit.row_numbers)
        if _scrub_report(version, found["id"]):
            scrubbed.append(version.version_no)
        if version.quarantine_path:
            tags = _tags(entry, version)
            has_id = any(finder.ID_CODE in codes for codes in tags.values())
            mobiles = (
                [] if has_id else [c for c, codes in tags.items() if finder.MOBILE_CODE in codes]
            )
            facts = rewrite_quarantine(
                session,
                datasets_dir,
                version,
                _quarantine_change(found["id"], mobiles, found["mobile"]),
                by=ACTOR,
                reason=REASON,
                ref=ref,
            )
            if facts is not None:
                rewritten.append(facts)
    _supersede(session, entry.id, rewritten)
    at = now or utcnow()
    before = {h["version_no"] for h in erasure.held or []}
    erasure.rewritten, erasure.held = rewritten, held
    _amend_answer(session, erasure, before, at)
    if held:
        erasure.status = "held"
        first_end = min(datetime.fromisoformat(h["expires_at"]) for h in held)
        _enqueue(
            session,
            erasure,
            key=f"{ERASURE_JOB}:{erasure.id}:after:{first_end.isoformat()}",
            after=first_end,
        )
    else:
        erasure.status, erasure.lookup_enc, erasure.completed_at = "done", None, at
    session.flush()
    record(
        session,
        "privacy.erasure_done" if not held else "privacy.erasure_held",
        actor=ACTOR,
        subject=f"rights:{erasure.request_id}",
        payload={
            "erasure": erasure.id,
            "entry": entry.id,
            "files": len(rewritten),
            "reports_scrubbed": scrubbed,
            "quality_examples_removed": examples,
            "held": held,
            "completed_at": erasure.completed_at,
            "on_time": (
                None
                if erasure.due_at is None or erasure.completed_at is None
                else as_utc(erasure.completed_at) <= as_utc(erasure.due_at)
            ),
        },
    )
    return erasure


def _supersede(session: Session, entry_id: int, rewritten: list[dict]) -> None:
    """Row positions of a rewritten version moved: a grant naming rows by position in
    it must stop, and any other grant pinned to it reads the newest version, as after
    a tombstone (``egress.versions.version_for``). A deletion whose rows were in the
    latest version superseded these already; one whose rows were left only in older
    versions did not."""
    numbers = [f["version_no"] for f in rewritten if f["file"] == "version"]
    newest = storage.newest(session, entry_id)
    if numbers and newest is not None and max(numbers) < newest.version_no:
        storage.supersede(session, entry_id, up_to=max(numbers), by=newest)


def _renumber(examples: list[dict], gone: list[int]) -> tuple[list[dict], int]:
    """Quality examples (``row``: 0-based in the version) without the erased rows, the
    others renumbered for the rewritten file; and how many went."""
    kept = [e for e in examples if e.get("row") not in set(gone)]
    ordered = sorted(gone)
    out = [
        {**e, "row": e["row"] - bisect_left(ordered, e["row"])}
        if isinstance(e.get("row"), int)
        else e
        for e in kept
    ]
    return out, len(examples) - len(kept)


def _scrub_examples(session: Session, version: DatasetVersion, rows: list[int]) -> int:
    """The version's quality report and its correction tasks show masked example rows
    (``quality``): the erased rows' go, the others follow the new row numbers."""
    report = session.scalar(
        select(QualityReport).where(QualityReport.dataset_version_id == version.id)
    )
    if report is None or not rows:
        return 0
    removed, results = 0, []
    for result in report.results or []:
        kept, n = _renumber(list(result.get("examples") or []), rows)
        removed += n
        results.append({**result, "examples": kept})
    report.results = results
    for task in session.scalars(
        select(CorrectionTask).where(CorrectionTask.report_id == report.id)
    ):
        kept, n = _renumber(list(task.examples or []), rows)
        removed += n
        task.examples = kept
    session.flush()
    return removed


def _scrub_report(version: DatasetVersion, id_number: str) -> bool:
    """Mask the ID number in the load report's bad values (the provider's load page)."""
    report = dict(version.report or {})
    bad = report.get("bad_values") or []
    if not any(id_number in str(b.get("value", "")).upper() for b in bad):
        return False
    mask = "*" * len(id_number)
    report["bad_values"] = [
        {**b, "value": str(b.get("value", "")).upper().replace(id_number, mask)}
        if id_number in str(b.get("value", "")).upper()
        else b
        for b in bad
    ]
    version.report = report
    return True


def _tags(entry, version: DatasetVersion) -> dict[str, list[str]]:  # noqa: ANN001
    try:
        return column_tags(entry, version)
    except NotClassified:  # the ID is still searched in every cell
        return {}


def _amend_answer(session: Session, erasure: Erasure, before: set[int], at: datetime) -> None:
    """Tell the person, in the answer already given, of a version held since or a held
    version erased now that its hold ended."""
    req = session.get(RightsRequest, erasure.request_id)
    if req is None or req.status != "answered" or not req.answer:
        return  # the answer, when it is written, reads ``held_note``
    now_held = {h["version_no"] for h in erasure.held}
    added = [h for h in erasure.held if h["version_no"] not in before]
    ended = sorted(before - now_held)
    notes = [_held_text(h) for h in added]
    notes += [
        f"第 {no} 版数据的法律保全已结束，已于 {as_utc(at).astimezone(BEIJING):%Y年%m月%d日} 删除"
        for no in ended
    ]
    if not notes:
        return
    req.answer = f"{req.answer}；{catalog.get(session, erasure.entry_id).name}：" + "；".join(notes)
    session.flush()
    record(
        session,
        "rights.answer_amended",
        actor=ACTOR,
        subject=f"rights:{req.id}",
        payload={"erasure": erasure.id, "held": [h["version_no"] for h in added], "erased": ended},
    )


def _held_text(h: dict) -> str:
    return (
        f"第 {h['version_no']} 版数据因法律保全（案号：{h['case_reference']}）暂缓删除，"
        f"保全至 {datetime.fromisoformat(h['expires_at']).astimezone(BEIJING):%Y年%m月%d日}，"
        "期间不对外提供，保全结束后即行删除"
    )


def held_note(session: Session, match_id: int) -> str:
    """For the person's answer: the versions a legal hold keeps, in Chinese ('' if none)."""
    erasure = session.scalar(
        select(Erasure).where(Erasure.match_id == match_id).order_by(Erasure.id.desc())
    )
    if erasure is None or not erasure.held:
        return ""
    return "（" + "；".join(_held_text(h) for h in erasure.held) + "）"


def of_request(session: Session, request_id: int) -> list[Erasure]:
    return list(
        session.scalars(
            select(Erasure).where(Erasure.request_id == request_id).order_by(Erasure.id)
        )
    )
