"""Load page with its report; the dataset version page."""

from __future__ import annotations

import csv
import io
from functools import partial
from pathlib import Path
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
from gongshu.errors import GongshuError, InvalidInput, NotFound
from gongshu.jobs import service as jobs_service
from gongshu.timeutil import as_utc, utcnow
from gongshu.web.deps import SessionDep, read_first
from gongshu.web.downloads import attachment_header
from gongshu.web.forms import form_errors
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
    return render(request, "dataset_load.html", entry=entry, errors={})


@pages.post("/catalog/{entry_id}/load")
@read_first()  # the file is converted outside the write lock (service.load)
def load(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(DATASET_LOAD)],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    entry = catalog.get(session, entry_id)
    datasets_dir = request.app.state.settings.datasets_dir
    if file is None or not file.filename:
        # Nothing chosen: the form again, the message beside the file field.
        return render(
            request,
            "dataset_load.html",
            status_code=400,
            entry=entry,
            errors={"file": "请选择要上传的数据文件"},
        )
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
            errors={"file": exc.message},
            report=exc.report.to_dict(),
        )
    except GongshuError as exc:
        session.rollback()  # nothing of the failed load stays; the page is rendered
        # Whatever refused the load concerns the file: said beside it (issue 17 item 6).
        said = {"errors": {"file": exc.message}} if exc.status == 400 else {"error": exc.message}
        return render(request, "dataset_load.html", status_code=exc.status, entry=entry, **said)
    return RedirectResponse(f"/datasets/{version.id}?flash=loaded", status_code=303)


@pages.get("/datasets/{version_id}")
def version_page(
    request: Request,
    version_id: int,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    flash: str | None = None,
) -> Response:
    return _version_page(request, session, user, version_id, flash=flash)


def _version_page(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    version_id: int,
    *,
    flash: str | None = None,
    status_code: int = 200,
    errors: dict | None = None,
    data: dict | None = None,
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
        status_code=status_code,
        errors=errors or {},
        data=data or {},
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
        can_fix="dataset:load" in user.scopes
        and (user.org_id == entry.provider_org_id or "admin" in user.roles),
        jobs=_jobs_status(session, version_id),
        entity_labels=ENTITY_LABELS,
        flash=flashes.get(flash or ""),
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pages.get("/datasets/{version_id}/rejected.{fmt}")
def rejected_download(
    request: Request,
    version_id: int,
    fmt: str,
    session: SessionDep,
    user: Annotated[User, requires(DATASET_LOAD)],
) -> Response:
    """The rows the load set aside, as CSV (UTF-8 with BOM, for spreadsheet programs) or
    XLSX: the clerk corrects them and loads the file again (the row-number and reason
    columns are not catalog fields, so a new load ignores them)."""
    if fmt not in ("csv", "xlsx"):
        raise NotFound("仅提供 CSV 或 XLSX 格式的错误行文件")
    table = service.rejected_rows(
        session, version_id, actor=user, datasets_dir=request.app.state.settings.datasets_dir
    )
    version = storage.get(session, version_id)
    name = f"错误行-{Path(version.source_name or 'data').stem}-第{version.version_no}版.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(table.column_names)
        writer.writerows(["" if v is None else v for v in r.values()] for r in table.to_pylist())
        body, media_type = ("\ufeff" + buf.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("错误行")
        sheet.append(table.column_names)
        for r in table.to_pylist():
            sheet.append(["" if v is None else v for v in r.values()])
        out = io.BytesIO()
        book.save(out)
        body, media_type = out.getvalue(), XLSX
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": attachment_header(name)}
    )


JOB_LABELS = {"dataset.full_scan": "敏感数据全量识别", "quality.report": "数据质量报告"}
JOB_STATUS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}


@pages.get("/datasets/{version_id}/jobs")
def version_jobs(
    version_id: int, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> dict:
    """The background work on a version, polled by its page (gongshu.js) until all is done."""
    version = storage.get(session, version_id)
    entry = catalog.get(session, version.entry_id)
    if not catalog_search.can_see(entry, user):
        raise EntryNotFound(f"目录不存在：{entry.id}")
    return _jobs_status(session, version_id)


def _jobs_status(session, version_id: int) -> dict:  # noqa: ANN001
    now = utcnow()
    items = []
    for job in jobs_service.about_version(session, version_id, kinds=tuple(JOB_LABELS)):
        started = as_utc(job.locked_at) if job.status == "running" and job.locked_at else None
        items.append(
            {
                "id": job.id,
                "label": JOB_LABELS[job.kind],
                "status": job.status,
                "status_label": JOB_STATUS[job.status]
                + (f"（已运行 {int((now - started).total_seconds())} 秒）" if started else "")
                + (f"（第 {job.attempts} 次尝试）" if job.attempts > 1 else ""),
            }
        )
    finished = sum(1 for i in items if i["status"] in ("done", "failed"))
    return {
        "jobs": items,
        "finished": finished,
        "total": len(items),
        "all_finished": finished == len(items),
    }


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
    typed = {str(k): str(v) for k, v in form.items() if str(k).startswith("tag:")}
    refused = await run_in_threadpool(
        partial(_confirm_or_page, request, session, user, version_id, tags, typed)
    )
    if refused is not None:
        return refused
    return RedirectResponse(f"/datasets/{version_id}?flash=confirmed", status_code=303)


def _confirm_or_page(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    version_id: int,
    tags: dict,
    typed: dict,
) -> Response | None:
    """Confirm the tags; on a refusal the page again, the message beside the column's
    field and what was typed kept (issue 17 item 6). Runs on a worker thread."""
    try:
        service.confirm_tags(session, version_id, tags, actor=user)
    except InvalidInput as exc:
        session.rollback()
        return _version_page(
            request,
            session,
            user,
            version_id,
            status_code=exc.status,
            data=typed,
            **form_errors(exc),
        )
    return None
