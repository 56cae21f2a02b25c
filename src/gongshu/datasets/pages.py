"""Load page with its report; the dataset version page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gongshu import storage
from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import CATALOG_READ, DATASET_LOAD
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.catalog.errors import EntryNotFound
from gongshu.datasets import service
from gongshu.datasets.ingest import LoadRejected
from gongshu.datasets.uploads import spooled
from gongshu.entities import ENTITY_LABELS
from gongshu.errors import GongshuError
from gongshu.web.deps import SessionDep, read_first
from gongshu.web.render import render
from gongshu.web.uploads import SealedUploadRoute

pages = APIRouter(include_in_schema=False, route_class=SealedUploadRoute)


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
@read_first()  # the file is converted outside the write lock (service.load)
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
        with spooled(file, datasets_dir) as path:
            version = service.load(
                session,
                entry_id,
                path,
                actor=user,
                datasets_dir=datasets_dir,
                source_name=file.filename,
            )
    except LoadRejected as exc:
        session.rollback()
        return render(
            request,
            "dataset_load.html",
            status_code=400,
            entry=entry,
            error=exc.message,
            report=exc.report.to_dict(),
        )
    except GongshuError as exc:
        session.rollback()  # nothing of the failed load stays; the page is rendered
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
    version = storage.get(session, version_id)
    entry = catalog.get(session, version.entry_id)
    if not catalog_search.can_see(entry, user):
        raise EntryNotFound(f"目录不存在：{entry.id}")
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
    examples = (
        _masked_examples(
            columns, rows, version.column_tags or {}, request.app.state.settings.secret_key
        )
        if rows
        else {}
    )
    can_confirm = "dataset:load" in user.scopes and (
        user.org_id == entry.provider_org_id or "admin" in user.roles
    )
    flashes = {"loaded": "数据已加载，生成新的数据版本。", "confirmed": "识别结果已确认。"}
    return render(
        request,
        "dataset_version.html",
        version=version,
        entry=entry,
        report=version.report,
        columns=columns,
        rows=rows,
        preview_note=preview_note,
        discovery=version.discovery or {},
        tags=version.column_tags or {},
        examples=examples,
        can_confirm=can_confirm,
        entity_labels=ENTITY_LABELS,
        flash=flashes.get(flash or ""),
    )


def _masked_examples(
    columns: list[str], rows: list[tuple], tags: dict, secret: str
) -> dict[str, list[str]]:
    """How each column would look in open data, from the provider's own first rows."""
    import pyarrow as pa

    from gongshu.egress.examples import example_key, mask_examples
    from gongshu.egress.policies import DEFAULT_POLICIES

    key = example_key(secret)
    picked = {c: [r[i] for r in rows if r[i] is not None][:3] for i, c in enumerate(columns)}
    out = {}
    for col, values in picked.items():
        if not values or not tags.get(col):
            continue
        batch = pa.RecordBatch.from_arrays([pa.array([str(v) for v in values])], names=[col])
        masked = mask_examples(
            batch, tags, DEFAULT_POLICIES["open"][1], key=key, purpose="examples"
        )
        out[col] = ["" if v is None else str(v) for v in masked.column(0).to_pylist()]
    return out


@pages.post("/datasets/{version_id}/tags")
async def confirm_tags(
    request: Request,
    version_id: int,
    session: SessionDep,
    user: Annotated[User, requires(DATASET_LOAD)],
) -> Response:
    form = await request.form()
    tags = {
        str(k)[4:]: [c.strip() for c in str(v).replace("，", ",").split(",") if c.strip()]
        for k, v in form.items()
        if str(k).startswith("tag:")
    }
    await run_in_threadpool(service.confirm_tags, session, version_id, tags, actor=user)
    return RedirectResponse(f"/datasets/{version_id}?flash=confirmed", status_code=303)
