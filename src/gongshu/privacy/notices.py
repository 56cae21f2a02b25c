"""Processing rules (privacy notice, PIP-7; PIA-A point 3): what each function
processes, retention, the rights channels, third-party code, provision to third
parties, risks, complaint channels and the officer's contact. Every section is
required; each change is a new version, and consent records name the version in
force when the consent was given."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization
from gongshu.entities import ENTITY_LABELS
from gongshu.ledger import record
from gongshu.privacy.errors import BadConsent
from gongshu.privacy.models import NOTICE_SECTIONS, ProcessingNotice


class BadNotice(BadConsent):
    """A processing notice refused; ``fields`` names the form's fields it is about."""

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {"functions": message}
        self.field = next(iter(self.fields))


def _functions(value: object) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise BadNotice(f"须逐项列明{NOTICE_SECTIONS['functions']}")
    out = []
    for i, item in enumerate(value, start=1):
        name = str((item or {}).get("function") or "").strip()
        kinds = sorted(set((item or {}).get("kinds") or []))
        if not name or not kinds:
            raise BadNotice(f"第 {i} 项业务功能须写明名称和个人信息种类")
        unknown = [k for k in kinds if k not in ENTITY_LABELS]
        if unknown:
            raise BadNotice(f"第 {i} 项的个人信息种类无效：{'、'.join(unknown)}")
        out.append({"function": name, "kinds": kinds})
    return out


def publish(session: Session, org: Organization, sections: dict, *, actor: str) -> ProcessingNotice:
    """A new version of ``org``'s processing rules; refuses a missing section."""
    missing = [
        (key, label)
        for key, label in NOTICE_SECTIONS.items()
        if key != "functions" and not str(sections.get(key) or "").strip()
    ]
    if missing:
        raise BadNotice(
            f"处理规则缺少以下内容：{'、'.join(label for _, label in missing)}",
            fields={key: f"请填写{label}" for key, label in missing},
        )
    clean = {k: str(sections[k]).strip() for k in NOTICE_SECTIONS if k != "functions"}
    clean["functions"] = _functions(sections.get("functions"))
    version_no = (
        session.scalar(
            select(func.max(ProcessingNotice.version_no)).where(ProcessingNotice.org_id == org.id)
        )
        or 0
    ) + 1
    notice = ProcessingNotice(
        org_id=org.id, version_no=version_no, sections=clean, published_by=actor
    )
    session.add(notice)
    session.flush()
    record(
        session,
        "privacy.notice_published",
        actor=actor,
        subject=f"org:{org.id}",
        payload={"notice": notice.id, "version_no": version_no, "sections": clean},
    )
    return notice


def current(session: Session, org_id: int) -> ProcessingNotice | None:
    return session.scalar(
        select(ProcessingNotice)
        .where(ProcessingNotice.org_id == org_id)
        .order_by(ProcessingNotice.version_no.desc())
        .limit(1)
    )


def undeclared(notice: ProcessingNotice | None, kinds: list[str]) -> list[str]:
    """Kinds a consent names that the processing rules in force do not list."""
    if notice is None:
        return []
    listed = {k for f in notice.sections.get("functions", []) for k in f["kinds"]}
    return [k for k in kinds if k not in listed]


def parse_functions(text: str) -> list[dict]:
    """Form input, one function a line: ``功能名称: 种类, 种类``, each kind by its Chinese
    name ("手机号码") or its code (CN_MOBILE)."""
    by_label = {label: code for code, label in ENTITY_LABELS.items()}
    out = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, _, codes = line.replace("：", ":").partition(":")
        out.append(
            {
                "function": name.strip(),
                "kinds": [
                    by_label.get(c.strip(), c.strip())
                    for c in codes.replace("，", ",").replace("、", ",").split(",")
                    if c.strip()
                ],
            }
        )
    return out
