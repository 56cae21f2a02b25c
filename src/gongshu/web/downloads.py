"""Serving a file a user uploaded (issue 16 item 5): always a download, never a page.

An uploaded HTML or SVG file served inline runs as a page of this site in the
reader's session; so stored uploads go out as ``attachment`` with
``application/octet-stream`` (the browser neither renders nor sniffs them), under a
CSP ``sandbox`` in case a browser opens one anyway.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def attachment_header(filename: str) -> str:
    """``Content-Disposition: attachment`` with an ASCII fallback and the UTF-8 name."""
    plain = "".join(c if c in SAFE_NAME else "_" for c in filename) or "download"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def uploaded_file(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": attachment_header(filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


def media(*types: str) -> dict:
    """The ``responses`` of a download route: its 200 in each media type it sends, so the
    OpenAPI document names what a client will receive (issue 20 item 6)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": "文件下载", "content": {t: binary for t in types}}}


DATA_MEDIA = ("application/json", "text/csv", "application/vnd.apache.parquet")
"""What a data delivery is sent as, by its ``format`` (egress.formats.MEDIA_TYPES)."""
