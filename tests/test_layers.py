"""The package layers of docs/architecture.md, checked on the source.

Every ``import`` counts, including those written inside functions (they hide
dependencies, they do not remove them) and ``from gongshu import x``. A package may
import packages of lower layers only; two packages of one layer may not import each
other, and no two packages anywhere may import each other.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "gongshu"

# Bottom to top. The names are packages (folders) or top-level modules of gongshu.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "timeutil", "capability"),  # kernel: imports nothing of ours
    ("config", "identifiers", "entities", "tabular", "documents", "db", "serving", "migrate"),
    ("changes",),
    ("protect",),  # masking, national cryptography, key stores, watermarks
    ("ledger",),  # mechanism 2: every state change and read recorded
    ("storage",),  # dataset versions at rest and their lifecycle
    ("spark",),  # heavy kernels on a Spark cluster (reads versions through storage)
    ("runtime",),  # an open instance: engine, sessions, the unlocked key store
    ("backup",),  # a whole instance copied out and rebuilt (metadata, files, keys, ledger)
    ("web",),  # the web framework: unit of work, rendering, rate limit
    ("accounts",),  # who is calling, and what they may do
    ("jobs",),
    ("workdays",),
    ("discovery",),
    ("catalog",),
    ("egress",),  # mechanism 1: the one door, with the gates others register
    ("instruments",),  # consents, authorizations, approvals, contracts as records
    ("datasets",),  # loading: ingest, classification at load, the provider's preview
    ("demo",),  # the demo province's data (seeds of capabilities above come by registry)
    ("exchange", "opendata", "registration", "operation"),
    ("federation",),  # nodes; submits registrations to the national registry
    ("quality", "market", "compliance"),
    ("privacy",),
    ("capabilities",),  # the one list of capabilities
    ("app", "migrations"),  # the app factory, the home page, serving; Alembic
    ("cli",),
    ("__main__",),
)
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def _unit(module: str) -> str | None:
    """The package or top-level module ``gongshu.x.y`` belongs to (``x``)."""
    parts = module.split(".")
    if parts[0] != "gongshu" or len(parts) < 2:
        return None
    return parts[1]


def import_graph(src: Path = SRC) -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the files that import it (every import statement)."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in src.rglob("*.py"):
        rel = path.relative_to(src.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        module = ".".join(parts)
        own = _unit(module) if len(parts) > 1 else None
        if own is None:
            continue
        package = parts if path.name == "__init__.py" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package[: len(package) - (node.level - 1)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                targets = [base]
                if base == "gongshu":  # from gongshu import storage
                    targets = [f"gongshu.{alias.name}" for alias in node.names]
            for target in targets:
                unit = _unit(target)
                if unit is not None and unit != own:
                    graph[own][unit].add(path.relative_to(src).as_posix())
    return graph


def violations(graph: dict[str, dict[str, set[str]]]) -> list[str]:
    found = []
    for unit, imported in sorted(graph.items()):
        if unit not in LAYER:
            found.append(f"{unit}: not in any layer (add it to LAYERS and docs/architecture.md)")
            continue
        for other, files in sorted(imported.items()):
            if other not in LAYER:
                found.append(f"{unit} imports {other}, which is in no layer")
            elif LAYER[other] >= LAYER[unit]:
                where = "the same layer" if LAYER[other] == LAYER[unit] else "a higher layer"
                found.append(f"{unit} imports {other} ({where}) in {sorted(files)}")
            if unit in graph.get(other, {}):
                found.append(f"{unit} and {other} import each other")
    return found


def test_packages_import_only_lower_layers() -> None:
    assert violations(import_graph()) == []


def test_every_package_is_in_a_layer() -> None:
    units = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    units |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert units - set(LAYER) == set()
    assert set(LAYER) - units == set(), "a layer names a package that does not exist"


def test_a_back_import_inside_a_function_is_caught(tmp_path: Path) -> None:
    """The check itself: a copy of two packages where the door imports privacy inside a
    function (as it once did for erasures) fails, naming both."""
    pkg = tmp_path / "gongshu"
    for name in ("egress", "privacy"):
        (pkg / name).mkdir(parents=True)
        (pkg / name / "__init__.py").write_text("")
    (pkg / "privacy" / "service.py").write_text("from gongshu.egress import service\n")
    (pkg / "egress" / "service.py").write_text(
        "def deliver():\n    from gongshu.privacy.tombstones import erased_since\n"
    )
    found = violations(import_graph(pkg))
    assert "egress imports privacy (a higher layer) in ['egress/service.py']" in found
    assert "egress and privacy import each other" in found


def test_from_gongshu_import_counts(tmp_path: Path) -> None:
    pkg = tmp_path / "gongshu"
    (pkg / "storage").mkdir(parents=True)
    (pkg / "storage" / "__init__.py").write_text("from gongshu import datasets\n")
    (pkg / "datasets").mkdir()
    (pkg / "datasets" / "__init__.py").write_text("")
    assert violations(import_graph(pkg)) == [
        "storage imports datasets (a higher layer) in ['storage/__init__.py']"
    ]
