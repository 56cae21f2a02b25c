"""The HTTP client a node uses to talk to a peer (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

TIMEOUT = 5.0


class Unreachable(Exception):
    """The peer did not answer (down, partitioned, timed out)."""


class PeerRefused(Exception):
    """The peer answered with a refusal; ``code`` and the message it named."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code = status, code
        super().__init__(message)


def _call(request: urllib.request.Request) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            body = {}
        raise PeerRefused(
            exc.code, str(body.get("error", exc.code)), str(body.get("message", exc.reason))
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Unreachable(str(exc)) from exc


def get(url: str) -> dict[str, Any]:
    return _call(urllib.request.Request(url, headers={"Accept": "application/json"}))


def post(url: str, body: bytes) -> dict[str, Any]:
    return _call(
        urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
    )
