"""Datasets JSON API: load a table into an entry, list versions, read a report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from pydantic import BaseModel

from gongshu import storage
from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import CATALOG_READ, DATASET_LOAD, DATASET_PREVIEW
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.catalog.errors import EntryNotFound
from gongshu.datasets import service
from gongshu.datasets.uploads import spooled
from gongshu.web.bounds import MAX_INT, Count, Id, Names
from gongshu.web.deps import SessionDep, read_first
from gongshu.web.uploads import SealedUploadRoute

router = APIRouter(prefix="/api/v1", tags=["datasets"], route_class=SealedUploadRoute)


class DatasetPublic(BaseModel):
    id: int
    entry_id: int
    version_no: int
    catalog_version_no: int
    source_name: str
    format: str
    encoding: str | None
    rows: int
    rows_rejected: int
    bad_values_total: int
    bytes: int
    sha256: str
    columns: list[dict]
    report: dict
    loaded_by: str
    column_tags: dict | None = None
    anonymized: dict | None = None


def _public(v) -> DatasetPublic:  # noqa: ANN001
    return DatasetPublic.model_validate(v, from_attributes=True)


@router.post("/catalog/{entry_id}/datasets", response_model=DatasetPublic, status_code=201)
@read_first()  # the file is converted outside the write lock (service.load)
def upload(
    entry_id: Id,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(DATASET_LOAD)],
    file: Annotated[UploadFile, File()],
) -> DatasetPublic:
    """Load a CSV/XLSX/Parquet file as the entry's next version (AGG-1, AGG-3).

    A rejected load answers 400 with the load report under ``detail``.
    """
    datasets_dir = request.app.state.settings.datasets_dir
    with spooled(file, datasets_dir) as path:
        version = service.load(
            session,
            entry_id,
            path,
            actor=user,
            datasets_dir=datasets_dir,
            source_name=file.filename,
        )
    return _public(version)


@router.get("/catalog/{entry_id}/datasets", response_model=list[DatasetPublic])
def list_versions(
    entry_id: Id, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> list[DatasetPublic]:
    if not catalog_search.can_see(catalog.get(session, entry_id), user):
        raise EntryNotFound(f"目录不存在：{entry_id}")
    return [_public(v) for v in storage.versions_of(session, entry_id)]


@router.get("/datasets/{version_id}", response_model=DatasetPublic)
def read(
    version_id: Id, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> DatasetPublic:
    version = storage.get(session, version_id)
    if not catalog_search.can_see(catalog.get(session, version.entry_id), user):
        raise EntryNotFound(f"目录不存在：{version.entry_id}")
    return _public(version)


@router.get("/datasets/{version_id}/preview")
def preview(
    version_id: Id,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(DATASET_PREVIEW)],
    limit: Annotated[int, Query(ge=1, le=service.PREVIEW_MAX)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> dict:
    """The provider's own rows; everyone else goes through a sharing grant."""
    columns, rows = service.preview(
        session,
        version_id,
        actor=user,
        limit=limit,
        offset=offset,
        datasets_dir=request.app.state.settings.datasets_dir,
    )
    return {"columns": columns, "rows": [[None if v is None else str(v) for v in r] for r in rows]}


class AnonymityCheckCreate(BaseModel):
    quasi_identifiers: Names
    k: Count = 5
    l: Count = 2  # noqa: E741


@router.post("/datasets/{version_id}/anonymity", response_model=DatasetPublic)
def check_anonymity(
    version_id: Id,
    body: AnonymityCheckCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(DATASET_LOAD)],
) -> DatasetPublic:
    """Mark the version anonymized if it passes the PIP-9 check (409 with figures if not)."""
    from gongshu.datasets.anonymized import check_and_mark

    version = check_and_mark(
        session,
        version_id,
        quasi_identifiers=body.quasi_identifiers,
        k=body.k,
        l=body.l,
        actor=user,
        datasets_dir=request.app.state.settings.datasets_dir,
    )
    return _public(version)
