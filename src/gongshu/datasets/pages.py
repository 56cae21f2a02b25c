"""Load page with its report; the dataset version page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.models import User
from gongshu.accounts.permissions import CATALOG_READ, DATASET_LOAD
from gongshu.catalog import service as catalog
from gongshu.catalog.errors import EntryNotFound
from gongshu.datasets import service
from gongshu.datasets.ingest import LoadRejected
from gongshu.datasets.uploads import spooled
from gongshu.errors import GongshuError
from gongshu.web.deps import SessionDep, requires
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)


@pages.get("/catalog/{entry_id}/load")
def load_form(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(DATASET_LOAD)],
) -> Response:
    entry = catalog.get(session, entry_id)
    return render(request, "dataset_load.html", entry=entry)


@pages.post("/catalog/{entry_id}/load")
def load(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(DATASET_LOAD)],
    file: Annotated[UploadFile, File()],
) -> Response:
    entry = catalog.get(session, entry_id)
    datasets_dir = request.app.state.settings.datasets_dir
    try:
        with session.begin_nested(), spooled(file, datasets_dir / "uploads") as path:
            version = service.load(
                session,
                entry_id,
                path,
                actor=user,
                datasets_dir=datasets_dir,
                source_name=file.filename,
            )
    except LoadRejected as exc:
        return render(
            request,
            "dataset_load.html",
            status_code=400,
            entry=entry,
            error=exc.message,
            report=exc.report.to_dict(),
        )
    except GongshuError as exc:
        return render(
            request, "dataset_load.html", status_code=exc.status, entry=entry, error=exc.message
        )
    return RedirectResponse(f"/datasets/{version.id}?flash=loaded", status_code=303)


@pages.get("/datasets/{version_id}")
def version_page(
    request: Request,
    version_id: int,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    flash: str | None = None,
) -> Response:
    version = service.get(session, version_id)
    entry = catalog.get(session, version.entry_id)
    if not catalog.can_see(entry, user):
        raise EntryNotFound(f"目录不存在 (catalog entry)：{entry.id}")
    columns, rows, preview_note = [], [], None
    if "dataset:preview" in user.scopes:
        try:
            columns, rows = service.preview(
                session,
                version_id,
                actor=user,
                limit=20,
                datasets_dir=request.app.state.settings.datasets_dir,
            )
        except GongshuError as exc:
            preview_note = exc.message
    return render(
        request,
        "dataset_version.html",
        version=version,
        entry=entry,
        report=version.report,
        columns=columns,
        rows=rows,
        preview_note=preview_note,
        flash="数据已加载，生成新的数据版本。" if flash == "loaded" else None,
    )
