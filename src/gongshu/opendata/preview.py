"""The masked preview on an open entry's page: its first rows as the open policy lets
them out, and each field's masking in the open release (issue 17 item 3).

The rows come through the egress door (``egress.service.preview_open``) as one
delivery to the public, recorded in the deliveries and the ledger. A page view is
not a delivery each time: the rows are kept in this process for ``KEPT_SECONDS``
per entry, dataset version and policy version, so the ledger holds one delivery
per preview actually read, not one per visitor. The caller commits that delivery
before the rows are kept or shown (``keep``): what is shown was recorded.

A new version, an edited policy or the end of the period reads them again; an
entry withdrawn or made conditional shows no preview at once (the page asks
``entries.get_open`` and the opening attribute on every view).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import orjson
from sqlalchemy.orm import Session

from gongshu.catalog.models import CatalogEntry
from gongshu.config import Settings
from gongshu.egress import service as egress
from gongshu.egress.errors import NotClassified, NotGrantable
from gongshu.storage.models import DatasetVersion

ROWS = 10
KEPT_SECONDS = 600.0
MAX_KEPT = 2048  # previews kept at most (the oldest go first)
# what each masking operator does to a value, as the page says it
MASK_LABELS = {
    "keep": "不脱敏",
    "partial": "部分遮盖",
    "replace": "替换",
    "nullify": "不提供",
    "pseudonymize": "假名化",
    "generalize_date": "日期泛化",
    "generalize_address": "地址泛化",
    "age_band": "年龄分段",
    "coordinate_grid": "坐标网格化",
    "truncate": "截断",
}


@dataclass(frozen=True)
class Preview:
    columns: list[str]
    rows: list[list]
    delivery: str  # the door's delivery token
    version_no: int


_kept: dict[tuple, tuple[float, Preview]] = {}
_lock = threading.Lock()


def release_plan(
    session: Session, entry: CatalogEntry, version: DatasetVersion | None
) -> dict[str, str] | None:
    """Each column's masking operator in the open release; None before the version's
    sensitive-data discovery has run (nothing can be said, nothing is shown)."""
    if version is None:
        return None
    try:
        return egress.release_plan(session, entry, version)
    except (NotClassified, NotGrantable):  # not yet classified; core data has no open policy
        return None


def _key(session: Session, entry: CatalogEntry, version: DatasetVersion) -> tuple:
    policy = egress.open_policy(session, entry)
    # created_at tells apart versions whose ids a rolled-back transaction reused
    return (entry.id, version.id, version.created_at, version.sha256, policy.id, policy.version_no)


def kept(session: Session, entry: CatalogEntry, version: DatasetVersion) -> Preview | None:
    """The preview already read and recorded for this version, while it is kept."""
    key = _key(session, entry, version)
    with _lock:
        found = _kept.get(key)
        if found is None or found[0] <= time.monotonic():
            _kept.pop(key, None)
            return None
        return found[1]


def take(
    session: Session, entry: CatalogEntry, version: DatasetVersion, *, settings: Settings
) -> Preview:
    """Read the preview through the door (one delivery, recorded in ``session``)."""
    out = egress.preview_open(
        session,
        entry,
        rows=ROWS,
        datasets_dir=settings.datasets_dir,
        work_dir=settings.data_dir / "egress",
        secret=settings.secret_key,
        latest=version,
    )
    body = orjson.loads(out.read_bytes())
    types = {f["name"]: f.get("type") or "string" for f in entry.fields}
    shown = [
        [_shown(v, types.get(c)) for c, v in zip(body["columns"], row, strict=True)]
        for row in body["rows"]
    ]
    return Preview(body["columns"], shown, out.delivery.token, version.version_no)


def _shown(value: object, field_type: str | None) -> object:
    """A delivered value as people read it: decimals without the storage's trailing
    zeros (1800.1100000000 is 1800.11), date-times with a space."""
    if value is None or isinstance(value, bool):
        return value
    if field_type == "decimal":
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return value  # masked text in a decimal column stays as the mask made it
        return format(number.normalize(), "f") if number.is_finite() else value
    if field_type == "datetime" and isinstance(value, str):
        return value.replace("T", " ")
    return value


def keep(session: Session, entry: CatalogEntry, version: DatasetVersion, preview: Preview) -> None:
    """Keep a preview whose delivery is committed, for ``KEPT_SECONDS``."""
    key = _key(session, entry, version)
    now = time.monotonic()
    with _lock:
        _kept[key] = (now + KEPT_SECONDS, preview)
        if len(_kept) > MAX_KEPT:
            for old in [k for k, (until, _) in _kept.items() if until <= now]:
                del _kept[old]
            while len(_kept) > MAX_KEPT:
                del _kept[next(iter(_kept))]


def clear() -> None:
    """Forget every kept preview (tests)."""
    with _lock:
        _kept.clear()
