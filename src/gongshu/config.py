"""Settings, read from the environment (``GONGSHU_*``) by entry points only.

Nothing here runs at import time: ``Settings()`` is built by the CLI, the
server factory or a test, which may hand it plain values.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-in-production"
# Connections beyond the handler threads: the job worker and its heartbeat, the ledger
# checkpoint after a request, one spare.
POOL_RESERVE = 4


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GONGSHU_", extra="ignore")

    data_dir: Path = Field(
        Path("./var"),
        description="Instance directory: SQLite metadata, Parquet dataset versions, keys.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the metadata database; default SQLite file in data_dir.",
    )
    secret_key: str = Field(
        PLACEHOLDER_SECRET,
        description=(
            "Instance secret (keyed pseudonymization, key wrapping); "
            "the placeholder is refused outside demo mode."
        ),
    )
    demo: bool = Field(False, description="Demo mode: allows the placeholder secret.")
    host: str = Field("127.0.0.1", description="Address the server binds to.")
    port: int = Field(8000, description="Port the server listens on.")
    workers: int = Field(
        1,
        description=(
            "Server processes. With PostgreSQL one per core; the embedded SQLite "
            "default serves best from one (its writers share one lock)."
        ),
    )
    server_jobs: bool = Field(
        True,
        description=(
            "Run one job worker beside the server (the embedded default). A production "
            "layout sets it false and runs `gongshu worker` processes instead."
        ),
    )
    threads: int = Field(
        8,
        ge=1,
        description=(
            "Requests one server process serves at once: its handler threads, and the "
            "requests admitted past the admission queue (gongshu/web/admission.py)."
        ),
    )
    queue_seconds: float = Field(
        10.0,
        gt=0,
        description=(
            "Longest a request waits in a server process's admission queue; past it, or "
            "when the queue could not be served within it, the answer is 503 with "
            "Retry-After."
        ),
    )
    db_pool_size: int | None = Field(
        None,
        ge=1,
        description=(
            "Database connections per process; by default threads + 4 (the job worker, "
            "its heartbeat, the ledger checkpoint), so an admitted request never waits "
            "on the pool."
        ),
    )
    db_pool_timeout: float = Field(
        3.0,
        gt=0,
        description="Longest wait for a database connection before the request answers 503.",
    )
    session_hours: int = Field(12, description="Lifetime of a login session cookie, in hours.")
    token_days: int = Field(90, description="Default lifetime of an API token, in days.")
    max_failed_logins: int = Field(5, description="Failed logins before an account locks.")
    lockout_minutes: int = Field(15, description="How long a locked account stays locked.")
    identity_register: str = Field(
        "360000-GA-0001",
        description=(
            "Resource code of the resident register (the public-security entry) that "
            "real-name checks match name, ID number and mobile against (OPN-2, PIP-5)."
        ),
    )
    checkpoint_every: int = Field(
        256, description="Ledger entries between signed Merkle checkpoints."
    )
    secure_cookies: bool = Field(False, description="Mark cookies Secure (behind HTTPS).")
    open_rate_per_minute: int = Field(
        120, description="Open API requests a minute per token (or per address without one)."
    )
    open_rate_burst: int = Field(60, description="Open API requests allowed in a burst.")
    sandbox_min_group: int = Field(
        10, description="Smallest group an aggregate sandbox result may report (OPR-4)."
    )
    sandbox_timeout_seconds: float = Field(
        20.0, description="Wall-clock limit of one sandbox query, in seconds."
    )
    sandbox_memory_limit: str = Field(
        "1GB", description="DuckDB memory limit of the sandbox (e.g. 512MB, 2GB)."
    )
    federation_alert_minutes: int = Field(
        10,
        ge=1,
        description="Warn on the node page and in `gongshu node status` when a peer node "
        "has not been reached for longer than this.",
    )
    national_publicity_days: int = Field(
        5,
        ge=0,
        description="National registry node: the publicity period (公示) of a registration "
        "before its unified code is assigned, in working days (0: coded at once).",
    )
    sandbox_max_rows: int = Field(100000, description="Most rows one sandbox result may hold.")
    storage_url: str | None = Field(
        None,
        description=(
            "Where stored files live: unset for the data directory (the embedded default), "
            "or s3://bucket/prefix for S3-compatible object storage (gongshu/storage/objects.py)."
        ),
    )
    s3_endpoint: str | None = Field(
        None, description="S3 endpoint URL (http://host:port); unset for the AWS default."
    )
    s3_access_key: str | None = Field(None, description="S3 access key id.")
    s3_secret_key: str | None = Field(None, description="S3 secret access key.")
    s3_region: str = Field("us-east-1", description="S3 region name.")
    engine: str = Field(
        "local",
        pattern="^(local|spark)$",
        description=(
            "Where heavy kernels run: local (in process) or spark (the Spark cluster of "
            "GONGSHU_SPARK_MASTER); read from the environment by gongshu.spark."
        ),
    )
    spark_master: str = Field(
        "local[2]",
        description="Spark master: spark://host:7077 for a standalone cluster, or local[N].",
    )
    spark_executor_memory: str = Field(
        "512m", description="Memory of each Spark executor on a standalone cluster."
    )
    spark_staging: Path | None = Field(
        None,
        description=(
            "Directory for batches staged for Spark executors (shared storage when the "
            "workers are on other machines); default the system temporary directory."
        ),
    )

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gongshu.db').resolve()}"

    @property
    def pool_size(self) -> int:
        return self.db_pool_size or self.threads + POOL_RESERVE

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def check_secret(self) -> None:
        """Refuse the placeholder secret unless running the demo."""
        from gongshu.errors import InvalidInput

        if not self.demo and self.secret_key == PLACEHOLDER_SECRET:
            raise InvalidInput("GONGSHU_SECRET_KEY 仍为占位值，请设置随机密钥后再启动服务")


def load_settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment; ``--data-dir`` wins over GONGSHU_DATA_DIR."""
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)  # type: ignore[arg-type]
