"""Temporary files owned by a live process, encrypted under keys only it holds
(storage/scratch.py, storage/ephemeral.py; issue 20 item 3)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gongshu.storage import EphemeralFile, scratch
from gongshu.storage.ephemeral import CHUNK

ROOT = Path(__file__).resolve().parents[2]

DEAD = """
import sys
from pathlib import Path
from gongshu.storage import scratch
scratch.new_path(Path(sys.argv[1]), "x").write_bytes(b"left by a dead process")
"""


def _dead_owner(root: Path) -> None:
    env = {"PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", DEAD, str(root)], check=True, env=env)


def test_a_dead_process_directory_goes_at_once_a_live_one_stays(tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    mine = scratch.new_path(root, "y")
    mine.write_bytes(b"still being written")
    _dead_owner(root)
    area = scratch.area(root)
    assert area == tmp_path / "tmp" and len([p for p in area.iterdir() if p.is_dir()]) == 2
    assert scratch.sweep(root) == 1  # seconds old: no age rule, the lock says it is dead
    assert mine.exists() and [p for p in area.iterdir() if p.is_dir()] == [mine.parent]
    assert sorted(p.suffix for p in area.iterdir() if p.is_file()) == [".lock"]


def test_placed_files_are_journalled_until_their_transaction_ends(session, tmp_path) -> None:
    root = tmp_path / "datasets"
    tmp = scratch.new_path(root, "v1.parquet")
    tmp.write_bytes(b"PAR1")
    dest = scratch.place(tmp, root, "entry-1/v1.parquet", session)
    assert dest.read_bytes() == b"PAR1" and not tmp.exists()
    assert scratch.live_placements(root) == {dest.resolve()}
    # A sweep beside this live, uncommitted writer leaves the file.
    from gongshu import storage

    assert storage.sweep_orphans(session, root) == 0 and dest.exists()
    session.rollback()  # the row never came: the file goes with it
    assert not dest.exists() and scratch.live_placements(root) == set()


def test_an_ephemeral_file_reads_back_and_is_ciphertext_on_disk(tmp_path: Path) -> None:
    data = b"".join(f"36010219800101{i:04d},张三{i}\n".encode() for i in range(40000))
    assert len(data) > 2 * CHUNK
    with EphemeralFile(tmp_path / "datasets", "upload.csv") as spool:
        for i in range(0, len(data), 70000):
            spool.write(data[i : i + 70000])
        spool.close()
        assert spool.size == len(data) and spool.read_bytes() == data
        raw = spool.path.read_bytes()
        assert b"3601021980010100" not in raw and "张三".encode() not in raw
        reader = spool.open()
        reader.seek(CHUNK - 5)
        assert reader.read(10) == data[CHUNK - 5 : CHUNK + 5]
        reader.seek(-3, io.SEEK_END)
        assert reader.read() == data[-3:]
        reader.close()
    assert not spool.path.exists()


def test_a_changed_ephemeral_byte_is_refused(tmp_path: Path) -> None:
    from gongshu.protect.errors import DecryptionFailed

    spool = EphemeralFile(tmp_path / "d", "x.bin")
    spool.write(b"x" * 1000)
    spool.close()
    raw = bytearray(spool.path.read_bytes())
    raw[10] ^= 1
    spool.path.write_bytes(bytes(raw))
    with pytest.raises(DecryptionFailed):
        spool.read_bytes()
    spool.discard()


def test_parquet_round_trips_through_an_ephemeral_file(tmp_path: Path) -> None:
    table = pa.table({"n": list(range(100000)), "s": [f"值{i}" for i in range(100000)]})
    spool = EphemeralFile(tmp_path / "d", "rows.parquet")
    with pq.ParquetWriter(spool.writer(), table.schema) as writer:
        writer.write_table(table)
    spool.close()
    assert pq.read_table(spool.open()).equals(table)
    spool.discard()
