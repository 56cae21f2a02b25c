"""Uploads sealed as they arrive (issue 20 item 3; SEC-9).

Starlette spools an uploaded file to a ``SpooledTemporaryFile``: memory up to 1 MB,
then a plain file in the system's temporary directory, where a crash leaves the raw
CSV of an agency (resident IDs in the clear) for anyone to read. A router built with
``route_class=SealedUploadRoute`` parses multipart bodies with the same parser but
writes each file part, as it arrives, to an ``EphemeralFile``: SM4-GCM under a key
held only in the process's memory, in the process's scratch directory under the
instance's data directory. The handler sees an ordinary ``UploadFile``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import aclosing
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from gongshu.storage import EphemeralFile


class SealedSpool:
    """The file object behind an ``UploadFile``: written once by the parser, then read.

    Has no ``_rolled`` attribute, so Starlette calls it on a worker thread (SM4 work
    stays off the event loop)."""

    def __init__(self, root: Path, filename: str) -> None:
        self.ephemeral = EphemeralFile(root, Path(filename or "upload").name)
        self._reader = None

    def write(self, data: bytes) -> int:
        return self.ephemeral.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._read().seek(offset, whence)

    def tell(self) -> int:
        return self._reader.tell() if self._reader is not None else self.ephemeral.size

    def read(self, size: int = -1) -> bytes:
        return self._read().read(size)

    def _read(self):  # noqa: ANN202 - a buffered reader
        if self._reader is None:
            self._reader = self.ephemeral.open()
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.ephemeral.discard()


class _SealingParser(MultiPartParser):
    def __init__(self, *args: Any, root: Path, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(*args, **kwargs)
        self.root = root

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        upload = self._current_part.file
        if upload is not None:  # swap the (still empty) spooled file for a sealed one
            plain = upload.file
            self._files_to_close_on_error.remove(plain)  # type: ignore[arg-type]
            plain.close()
            sealed = SealedSpool(self.root, upload.filename or "upload")
            upload.file = sealed  # type: ignore[assignment]
            self._files_to_close_on_error.append(sealed)  # type: ignore[arg-type]


class SealedUploadRequest(Request):
    async def _get_form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> FormData:
        content_type = self.headers.get("Content-Type", "")
        if self._form is None and content_type.startswith("multipart/form-data"):
            root = self.app.state.settings.datasets_dir
            try:
                async with aclosing(self.stream()) as stream:
                    parser = _SealingParser(
                        self.headers,
                        stream,
                        root=root,
                        max_files=max_files,
                        max_fields=max_fields,
                        max_part_size=max_part_size,
                    )
                    self._form = await parser.parse()
            except MultiPartException as exc:
                raise HTTPException(status_code=400, detail=exc.message) from exc
        return await super()._get_form(
            max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
        )


class SealedUploadRoute(APIRoute):
    """Routes whose uploaded files never touch the disk in the clear."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def sealed(request: Request) -> Response:
            return await handler(SealedUploadRequest(request.scope, request.receive))

        return sealed
