"""Run ``gongshu serve`` with every thread under cProfile, timed in thread CPU time, and
write the merged statistics when the server stops (bench_load.py ``--profile-server``).

    python benchmarks/profile_serve.py OUT.prof serve [--workers 1]

Each thread (the event loop's and every worker thread's) gets its own profiler, started
by a ``threading.setprofile`` hook on the thread's first call; ``time.thread_time`` makes
a thread waiting for a lock, a socket or the GIL cost nothing, so the totals say where
the server's CPU goes. cProfile slows every call several times over: compare shares
between runs, not absolute times.
"""

from __future__ import annotations

import cProfile
import pstats
import signal
import sys
import threading
import time

PROFILES: list[cProfile.Profile] = []
LOCK = threading.Lock()


def _start() -> None:
    profile = cProfile.Profile(time.thread_time)
    with LOCK:
        PROFILES.append(profile)
    profile.enable()


def _hook(frame, event, arg) -> None:  # noqa: ANN001
    sys.setprofile(None)
    _start()


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    # uvicorn raises the SIGTERM it caught again once it has shut down: end with the
    # statistics written rather than killed by it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.setprofile(_hook)
    _start()
    from gongshu.cli import main as gongshu

    try:
        sys.argv = ["gongshu", *argv]
        gongshu()
    except SystemExit:
        pass
    finally:
        threading.setprofile(None)
        with LOCK:
            profiles = list(PROFILES)
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            try:
                stats.add(profile)
            except TypeError:  # a thread that never made a call
                continue
        stats.dump_stats(out)


if __name__ == "__main__":
    main()
