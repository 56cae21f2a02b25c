"""The PIA-A framework: the 31 reference points of the audit annex (AUD-6).

Stored as a library file in CISO Assistant's shape (``frameworks/pia-a.json``:
a library with one framework whose ``requirement_nodes`` carry URNs such as
``urn:gongshu:risk:req_node:pia-a:18``, an ``assessable`` flag, the point's
Chinese text from the seed and the typical evidence).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from gongshu.errors import InvalidInput

LIBRARY = Path(__file__).with_name("frameworks") / "pia-a.json"


@cache
def library() -> dict:
    return json.loads(LIBRARY.read_text(encoding="utf-8"))


def nodes() -> list[dict]:
    """The requirement nodes in order (point 1 to 31)."""
    return library()["objects"]["framework"]["requirement_nodes"]


def assessable() -> list[int]:
    return [int(n["ref_id"]) for n in nodes() if n["assessable"]]


def node(point: int) -> dict:
    for n in nodes():
        if n["ref_id"] == str(point):
            return n
    raise InvalidInput(f"参考要点编号无效：{point}，应为 1 至 {len(nodes())}")
