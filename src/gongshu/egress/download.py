"""Sending a delivery: its bytes decrypted from scratch as they stream, then removed.

The door writes a delivery encrypted under a key only this process holds
(``DeliveryFile.file``), so a download streams it back through SM4 rather than
handing a plain file to ``FileResponse``.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from gongshu.egress.service import DeliveryFile

WITHHELD_ROWS = "X-Gongshu-Withheld-Rows"
WITHHELD_REASONS = "X-Gongshu-Withheld-Reasons"


def file_response(out: DeliveryFile) -> StreamingResponse:
    """The delivery as an attachment; its encrypted file goes once it was sent."""
    quoted = quote(out.filename)
    disposition = (
        f'attachment; filename="{out.filename}"'
        if quoted == out.filename
        else f"attachment; filename*=utf-8''{quoted}"
    )
    headers = {
        "Content-Disposition": disposition,
        "Content-Length": str(out.size),
        "X-Gongshu-Delivery": out.delivery.token,
    }
    if out.withheld:
        # Rows a gate kept back (a person's consent not in effect, say): how many and
        # why, so an empty or short file is not mistaken for the data (the reasons are
        # Chinese, percent-encoded UTF-8 as header values must be ASCII).
        headers[WITHHELD_ROWS] = str(out.withheld_rows)
        reasons = "；".join(f"{w.reason}（{w.rows} 行）" for w in out.withheld)
        headers[WITHHELD_REASONS] = quote(reasons)
    return StreamingResponse(
        out.chunks(),
        media_type=out.media_type,
        headers=headers,
        background=BackgroundTask(out.discard),
    )
