"""`python -m bench.monitor_run RUN_ID`: one scheduled monitor run through the real handler in a fresh process,
printed as JSON: wall seconds (fetch and sinks), the fetch's elapsed_ms, monitor.sink_ms, the peak RSS of the
process, the counts and any sink errors.

The environment names the results bucket, TARGETS_S3_URI and an S3 endpoint on loopback (a moto server); the
Lambda context gives the monitor function's timeout and memory (template.yaml). BENCH_PROFILE=FILE writes a
cProfile of the run there; BENCH_STAGES=1 adds the peak RSS after each step of the run and its seconds.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

from bench.context import BenchContext

MONITOR_FUNCTION_TIMEOUT_S = 60.0
SCHEDULE_EVENT = Path(__file__).resolve().parent.parent / "events" / "schedule.json"


def peak_rss_mb() -> float:
    """This program's peak RSS: VmHWM of its own address space. Not getrusage's ru_maxrss: Linux carries the
    parent's high-water mark into a child across fork and exec, and the parent here holds the moto server."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def watch_stages() -> list[tuple[str, float, float]]:
    """Wrap the steps of a run so that the peak RSS after each, and its seconds, are recorded: where the
    high-water mark rises and where the time goes."""
    from fanfetch import service
    from fanfetch.monitoring import published, publisher, rollups, runner, targets, transitions, views
    from fanfetch.monitoring.render import page

    marks: list[tuple[str, float, float]] = []
    steps = [
        (targets, "load_plan"),
        (service, "run_plan"),
        (runner, "_read_latest"),
        (transitions, "compare_run"),
        (runner, "_update_latest"),
        (runner, "run_document"),
        (publisher, "merge_write"),
        (publisher, "_history"),
        (rollups, "add_run"),
        (views, "page_view"),
        (page, "render"),
        (published, "status_document"),
        (publisher, "_write_badges"),
    ]
    for module, name in steps:
        real = getattr(module, name)

        def wrapped(*args: object, _real: object = real, _name: str = name, **kwargs: object) -> object:
            started = time.perf_counter()
            result = _real(*args, **kwargs)  # type: ignore[operator]
            marks.append((_name, peak_rss_mb(), round(time.perf_counter() - started, 3)))
            return result

        setattr(module, name, wrapped)
    return marks


def main() -> None:
    event = json.loads(SCHEDULE_EVENT.read_text())
    # Imported before the clock starts: a warm environment has them loaded (cold starts are measured apart).
    import boto3  # noqa: F401
    from fanfetch.engine import make_ssl_context
    from fanfetch.handler import lambda_handler

    make_ssl_context()
    marks = watch_stages() if os.environ.get("BENCH_STAGES") else None
    context = BenchContext("fanfetch", sys.argv[1], 512, MONITOR_FUNCTION_TIMEOUT_S)
    cpu_before = time.process_time()
    started = time.perf_counter()
    profile = os.environ.get("BENCH_PROFILE")
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        answer = profiler.runcall(lambda_handler, event, context)
        profiler.dump_stats(profile)
    else:
        answer = lambda_handler(event, context)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    summary, monitor = answer["summary"], answer.get("monitor") or {}
    print(
        json.dumps(
            {
                "wall_s": wall,
                "cpu_s": cpu,
                "fetch_ms": summary["elapsed_ms"],
                "sink_ms": monitor.get("sink_ms"),
                "peak_rss_mb": peak_rss_mb(),
                "total": summary["total"],
                "ok": summary["ok"],
                "errors": monitor.get("errors"),
                **({"stages": marks} if marks is not None else {}),
            }
        )
    )


if __name__ == "__main__":
    main()
