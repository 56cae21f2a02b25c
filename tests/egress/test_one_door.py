"""No module but the egress door reads dataset contents for a recipient.

Checked on the syntax tree, not the text: a module that calls one of the storage
layer's read functions (``relation``, ``streamed``, ``batch_reader``, ``read_table``,
``stream``, ``open_file``, through
``from gongshu import storage`` or imported by name, inside functions too), or that
imports a reader of files itself (DuckDB, ``pyarrow.parquet``), must be on this list
with the reason it is not a read for someone else. A new reader fails here until
someone decides it belongs behind the door.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "gongshu"
READ_FUNCTIONS = {"relation", "streamed", "batch_reader", "read_table", "stream", "open_file"}
FILE_READERS = {"duckdb", "pyarrow.parquet"}
STORAGE_MODULES = {"gongshu.storage", "gongshu.storage.store"}

STORAGE_READERS = {
    "egress/service.py": "the door itself",
    "egress/verify.py": (
        "identity verification against the resident register (OPN-2, PIP-5): "
        "answers match or no match, or hands the mobile on record to the code sender"
    ),
    "datasets/service.py": "the providing agency's own preview (refuses anyone else)",
    "datasets/anonymized.py": "the PIP-9 re-identification check in the platform; nothing leaves",
    "operation/sandbox.py": (
        "the operator's SQL over granted, masked versions inside the platform (OPR-4), less "
        "the rows the door's gates withhold (runs.py asks them as for a delivery, OPR-3); "
        "only results that pass the disclosure check become products, which leave through the door"
    ),
    "privacy/finder.py": "finds a person's rows for their rights request (PIP-5); row numbers only",
    "operation/products.py": "a passed sandbox result becomes a product (it leaves by the door)",
    "privacy/tombstones.py": "rewrites a version without a person's rows (PIP-6); nothing leaves",
    "quality/engine.py": "in-platform quality checks (QUA-1); only masked examples are shown",
    "quality/onesource.py": "in-platform duplicate finder (AGG-2); keyed hashes, only counts",
    "datasets/classify.py": "discovery sample for classification; nothing leaves",
    "spark/anonymity.py": "the PIP-9 check on the Spark cluster; only counts come back",
    "quality/cluster.py": "quality checks (QUA-1) on the Spark cluster; examples masked after",
}
FILE_READER_IMPORTS = {
    "storage/store.py": "opens stored versions (sealed columns decrypted) for the readers above",
    "storage/atomic.py": "writes Parquet files atomically (writer, not reader)",
    "storage/files.py": "writes a version's stored files; reads a plain one only to seal it",
    "storage/rewrite.py": "writes an erased quarantine's Parquet bytes, sealed whole at once",
    "storage/ephemeral.py": "writes a load's converted rows as encrypted temporary Parquet",
    "egress/query.py": "the door's query, built and run only by egress/service.deliver",
    "egress/verify.py": "the door's identity check: one count or one number, never rows",
    "egress/formats.py": "writes the door's Parquet output",
    "datasets/service.py": "the providing agency's own preview (refuses anyone else)",
    "datasets/classify.py": "discovery sample for classification; nothing leaves",
    "tabular.py": "reads files being loaded or scanned, not stored versions",
    "discovery/jsoncells.py": "parses JSON cells of the batch being scanned, in memory; no file",
    "datasets/anonymized.py": "the PIP-9 re-identification check in the platform; nothing leaves",
    "operation/sandbox.py": "the operator's locked DuckDB sandbox (OPR-4)",
    "privacy/finder.py": "finds a person's rows for their rights request (PIP-5); row numbers only",
    "quality/engine.py": "in-platform quality checks (QUA-1); only masked examples are shown",
    "quality/onesource.py": "in-platform duplicate finder (AGG-2); keyed hashes, only counts",
    "quality/grouped.py": "the quality engine's uniqueness rules on the connection it opened",
    "demo/loader.py": "writes the demo province's source files before loading them",
    "operation/runs.py": "writes a passed sandbox result's Parquet bytes, sealed whole at once",
    "spark/tasks.py": "Spark executors read a plain version file by row group; partials only",
    "spark/anonymity.py": "executors' DuckDB hashes and counts the batches they hold; no file",
}


def _reads(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(storage read functions used, file-reader modules imported) by one module."""
    storage_names: set[str] = set()  # local names bound to the storage layer's modules
    used: set[str] = set()
    readers: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in FILE_READERS or alias.name.split(".")[0] == "duckdb":
                    readers.add(alias.name)
                if alias.name in STORAGE_MODULES:
                    storage_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                if module in FILE_READERS or full in FILE_READERS or module == "duckdb":
                    readers.add(full if full in FILE_READERS else module)
                if full in STORAGE_MODULES:
                    storage_names.add(alias.asname or alias.name)
                if module in STORAGE_MODULES and alias.name in READ_FUNCTIONS:
                    used.add(alias.name)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in READ_FUNCTIONS
            and isinstance(node.value, ast.Name)
            and node.value.id in storage_names
        ):
            used.add(node.attr)
    return used, readers


def _scan() -> tuple[set[str], set[str]]:
    storage_readers, file_readers = set(), set()
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("storage/"):
            used, readers = set(), _reads(ast.parse(path.read_text(encoding="utf-8")))[1]
        else:
            used, readers = _reads(ast.parse(path.read_text(encoding="utf-8")))
        if used:
            storage_readers.add(rel)
        if readers:
            file_readers.add(rel)
    return storage_readers, file_readers


def test_only_the_door_reads_stored_data() -> None:
    storage_readers, file_readers = _scan()
    assert storage_readers - set(STORAGE_READERS) == set(), "a new reader of stored versions"
    assert file_readers - set(FILE_READER_IMPORTS) == set(), "a new reader of files"
    assert "egress/service.py" in storage_readers  # the door reads through the storage layer
    # and the lists stay true: every module named there still reads
    assert set(STORAGE_READERS) - storage_readers == set()
    assert set(FILE_READER_IMPORTS) - file_readers == set()


def test_the_check_sees_reads_inside_functions() -> None:
    code = (
        "from gongshu import storage as s\n"
        "def f(con, d, v):\n"
        "    import duckdb\n"
        "    from gongshu.storage import stream\n"
        "    return s.relation(con, d, v)\n"
    )
    used, readers = _reads(ast.parse(code))
    assert used == {"relation", "stream"} and readers == {"duckdb"}
