"""Serving an instance and creating it: the entry points above every capability."""

from __future__ import annotations

import os
import threading

from gongshu import serving
from gongshu.config import Settings
from gongshu.runtime import Instance, check_instance_keys, require_current_schema


def init_instance(instance: Instance) -> None:
    """Create or upgrade everything an instance needs; safe to run again.

    The signing key is created only for a brand-new instance (no ledger entries or
    checkpoints); otherwise it must be there already (``check_instance_keys``)."""
    from gongshu.ledger.keys import InstanceKey
    from gongshu.migrate import upgrade

    settings = instance.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.datasets_dir.mkdir(parents=True, exist_ok=True)
    upgrade(instance.engine)
    facts = check_instance_keys(settings, instance.engine)
    if not facts.has_ledger:
        InstanceKey.load_or_create(settings.keys_dir)


def start_up_sweep(instance: Instance) -> int:
    """What dead processes left: their scratch directories (temporary files, uploads,
    exports, whatever their age) and stored files no version row refers to
    (``storage.sweep_orphans``). Returns how many files went."""
    from gongshu.db import transaction
    from gongshu.storage import sweep_orphans

    with transaction(instance.session_factory) as session:
        return sweep_orphans(session, instance.settings.datasets_dir)


def run_server(instance: Instance) -> None:
    """Serve the web app with uvicorn after start-up housekeeping."""
    import uvicorn

    from gongshu import capabilities
    from gongshu.app.factory import create_app
    from gongshu.jobs import Worker

    settings = instance.settings
    settings.check_secret()
    require_current_schema(instance)
    start_up_sweep(instance)
    # The embedded default runs one job worker beside the server; production adds
    # `gongshu worker` processes (PostgreSQL SKIP LOCKED lets them share the queue).
    capabilities.activate()
    capabilities.load_job_handlers()
    if settings.server_jobs:
        thread, stop = Worker(instance.session_factory, settings=settings).start_thread()
    else:  # jobs are for the `gongshu worker` processes (GONGSHU_SERVER_JOBS=false)
        thread, stop = None, threading.Event()
    print(f"公数已启动：http://{settings.host}:{settings.port}", flush=True)
    try:
        options = {
            "host": settings.host,
            "port": settings.port,
            "log_level": "warning",
            "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        }
        if settings.workers > 1 and serving.available():  # a socket each (serving.py)
            serving.run(settings.model_dump_json(), settings.workers, options)
        elif settings.workers > 1:  # processes sharing uvicorn's one socket
            os.environ[serving.PROCESS_SETTINGS] = settings.model_dump_json()
            uvicorn.run(
                "gongshu.app.server:worker_app", factory=True, workers=settings.workers, **options
            )
        else:
            app = create_app(settings, session_factory=instance.session_factory)
            settle_heap()
            uvicorn.run(app, **options)
    finally:
        stop.set()
        if thread is not None:
            thread.join(10)


# Idle keep-alive connections stay open this long (uvicorn's default is 5 s; API
# clients and harvesters pause longer between pages; nginx keeps 75 s).
KEEP_ALIVE_SECONDS = 75


def worker_app():  # noqa: ANN201
    """The app of one server process when ``workers`` > 1 (uvicorn calls this in each);
    start-up housekeeping and the job worker stay with the parent."""
    from gongshu.app.factory import create_app

    app = create_app(Settings.model_validate_json(os.environ[serving.PROCESS_SETTINGS]))
    settle_heap()
    return app


def settle_heap() -> None:
    """Move what start-up built (modules, the app, SQLAlchemy's mappers, lookup tables)
    out of the garbage collector's sight: a full collection walked all of it in 100-160
    ms (measured while a server process started); after the freeze, 16 ms under load.
    Every request in flight waits out a collection's pause."""
    import gc

    gc.collect()
    gc.freeze()
