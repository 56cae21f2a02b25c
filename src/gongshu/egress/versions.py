"""Which stored version a grant reads, and the discovery tags the door masks by."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.catalog.models import CatalogEntry
from gongshu.egress import query
from gongshu.egress.errors import GrantInactive, GrantNotFound, NotClassified
from gongshu.egress.models import Grant
from gongshu.egress.policies import KIND_ENTITIES
from gongshu.storage.models import DatasetVersion


def column_tags(entry: CatalogEntry, version: DatasetVersion) -> dict[str, list[str]]:
    """Entity codes per column: the version's discovery result plus the catalog's kinds."""
    if version.column_tags is None:
        raise NotClassified("该数据版本尚未完成敏感数据识别，暂不能对外提供")
    tags = {col: list(codes) for col, codes in version.column_tags.items()}
    for f in entry.fields:
        if f.get("kind") in KIND_ENTITIES:
            tags.setdefault(f["name"], []).append(KIND_ENTITIES[f["kind"]])
    return tags


def personal_columns(session: Session, entry, version) -> dict[str, set[str]]:  # noqa: ANN001
    """Columns of ``version`` carrying personal information, with their entity codes: the
    version's discovery tags and the catalog's field kinds, by the grading rules in force.
    ``version`` may be None (the catalog's kinds only). Used by the cross-border and
    operation-consent gates and by operation licensing (OPR-3)."""
    from gongshu.discovery.rules_store import rules_in_force

    tags: dict[str, set[str]] = {}
    for col, codes in ((version.column_tags or {}) if version is not None else {}).items():
        tags.setdefault(col, set()).update(codes)
    for f in entry.fields:
        if f.get("kind") in KIND_ENTITIES:
            tags.setdefault(f["name"], set()).add(KIND_ENTITIES[f["kind"]])
    rules, _ = rules_in_force(session)

    def personal(code: str) -> bool:
        rule = rules.entities.get(code)
        return bool(rule and (rule.category.startswith("个人") or rules.is_sensitive(code)))

    return {col: codes for col, codes in tags.items() if any(personal(c) for c in codes)}


def version_for(
    session: Session, grant: Grant, latest: DatasetVersion | None = None
) -> DatasetVersion:
    """The version a grant reads: its pinned one, or the entry's latest.

    PIP-5, PIP-6: a pinned version that a later deletion or correction of a
    person's rows superseded is never served again; the grant reads the newest
    version instead, so deleted rows do not leave through old grants.
    """
    version = None
    if grant.dataset_version_id is not None:
        version = session.get(DatasetVersion, grant.dataset_version_id)
        if version is not None and storage.superseded_by_erasure(version):
            if query.uses_rows(grant.row_filter):  # positions name rows of that version only
                raise GrantInactive(
                    "授权所指的数据版本已因删除或更正个人信息而更新，行号不再对应，请重新申请"
                )
            version = None
    if version is None and latest is not None and latest.entry_id == grant.entry_id:
        version = latest  # the caller read the entry's newest version in this unit of work
    if version is None:
        version = storage.newest(session, grant.entry_id)
    if version is None:
        raise GrantNotFound("该目录尚无数据")
    return version
