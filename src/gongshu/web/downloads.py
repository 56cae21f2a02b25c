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
