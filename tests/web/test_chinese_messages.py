"""Messages raised to people carry no English notes and no requirement codes (issue 17 item 5).

Scans every ``raise SomeError("...")`` in ``src/gongshu`` whose first argument is a string
literal or f-string: a parenthesis holding ASCII letters ("(provider only)", "（PIP-7）") or a
requirement code ("SHR-3") fails. Natural technical words people read in Chinese text (CSV,
API, UTF-8 ...) are allowed outside and inside parentheses; the legal basis is cited in Chinese.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "gongshu"

# Words that are the natural Chinese usage, allowed even inside parentheses.
ALLOWED = {
    "CSV",
    "XLSX",
    "API",
    "SQL",
    "PDF",
    "JSON",
    "ID",
    "UTF-8",
    "SHA-256",
    "SM2",
    "SM3",
    "SM4",
}
# SQL the sandbox's operator writes, named as written.
ALLOWED |= {"SELECT", "FROM", "CTE", "FILTER", "CASE", "GROUP", "BY"}
ALLOWED_CODES = {"UTF-8", "SHA-256", "GB-2312", "ISO-8601"}
# Packages (top-level names under src/gongshu) not yet swept. Keep empty once finished.
TODO: set[str] = set()

CODE = re.compile(r"\b[A-Z]{2,4}-\d+\b")
PAREN = re.compile(r"[(（]([^()（）]*)[)）]")


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def problems_in(text: str) -> list[str]:
    found = [c for c in CODE.findall(text) if c not in ALLOWED_CODES]
    for inner in PAREN.findall(text):
        words = set(re.findall(r"[A-Za-z][A-Za-z0-9_.\-]*", inner)) - ALLOWED
        if words:
            found.append(f"({inner})")
    return found


def raised_messages(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            # The message is the first argument, or (``Refusal(code, message)``) a later
            # one written in Chinese.
            for i, arg in enumerate(node.exc.args):
                text = _text(arg)
                if text is not None and (i == 0 or re.search(r"[\u4e00-\u9fff]", text)):
                    yield node.lineno, text


def test_the_scanner_catches_english_notes_and_codes() -> None:
    assert problems_in("目录不存在 (catalog entry)：{}") == ["(catalog entry)"]
    assert problems_in("处理规则缺少以下内容（PIP-7）") == ["PIP-7", "(PIP-7)"]
    assert problems_in("须说明用途，SHR-3") == ["SHR-3"]
    assert problems_in("请上传 CSV 文件（UTF-8 或 GBK）") == ["(UTF-8 或 GBK)"]
    assert problems_in("请上传 PDF 文件（PDF）") == []
    assert problems_in("依据《宁夏回族自治区数据条例》第二十五条") == []


def test_no_english_notes_or_codes_in_raised_messages() -> None:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        package = path.relative_to(SRC).parts[0].removesuffix(".py")
        if package in TODO:
            continue
        for line, text in raised_messages(path):
            if problems := problems_in(text):
                bad.append(f"{path.relative_to(SRC)}:{line}: {problems} in {text!r}")
    assert not bad, "\n".join(bad)
