"""Ledger events named for people (issue 17 item 5)."""

from __future__ import annotations

import ast
from pathlib import Path

from gongshu.ledger.labels import ACTIONS, action_label, payload_items, subject_label

SRC = Path(__file__).resolve().parents[2] / "src" / "gongshu"


def test_events_subjects_and_payloads_read_in_chinese() -> None:
    assert action_label("catalog.submitted") == "提交目录审核"
    assert action_label("catalog.something_new") == "目录：其他操作"
    assert action_label("zzz.x") == "其他：其他操作"
    assert subject_label("entry:12") == "目录 #12"
    assert payload_items({"reason": "核验完成", "rows": 3, "x": 1, "ok": True}) == [
        ("理由", "核验完成"),
        ("行数", "3"),
    ]
    assert payload_items({"status": "approved"}, {"status": {"approved": "已发布"}}) == [
        ("状态", "已发布")
    ]


def test_every_literal_action_recorded_has_a_name() -> None:
    missing = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "record"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
                and "." in node.args[1].value
            ):
                if node.args[1].value not in ACTIONS:
                    missing.add(node.args[1].value)
    assert not missing, sorted(missing)
