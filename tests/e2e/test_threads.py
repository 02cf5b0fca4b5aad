"""The runtime's own threads: named for operators (top -H, ps -L), and scheduled so that handing a call to an
executor does not cost a context switch per request, without passing that policy on to the user's threads."""

import os
from pathlib import Path

SERVICE = Path(__file__).resolve().parent / "services" / "threads" / "service.py"
SCHED_OTHER, SCHED_BATCH = os.SCHED_OTHER, os.SCHED_BATCH


def threads_of(pid):
    """{thread name: [scheduling policy, ...]} from /proc."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            policy = os.sched_getscheduler(int(task.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended while we looked
        out.setdefault(name, []).append(policy)
    return out


def test_runtime_threads_are_named_and_executors_do_not_preempt_io(start_service):
    svc = start_service(SERVICE, "--threads", "2")
    assert svc.request("GET", "/health/live").status == 200
    threads = threads_of(svc.proc.pid)
    for name in ("mvi-io", "mvi-exec", "mvi-log", "mvi-signals"):
        assert name in threads, f"no thread named {name}: {sorted(threads)}"
    assert threads["mvi-exec"] == [SCHED_BATCH, SCHED_BATCH], f"idle executors wait under SCHED_BATCH: {threads}"
    assert threads["mvi-log"] == [SCHED_BATCH], threads
    assert all(p == SCHED_OTHER for p in threads["mvi-io"]), f"I/O threads keep the normal policy: {threads}"


def test_user_code_and_what_it_starts_run_under_the_normal_policy(start_service):
    svc = start_service(SERVICE)
    resp = svc.request("POST", "/policies", json={})
    assert resp.status == 200, resp
    assert resp.body == {"entrypoint": SCHED_OTHER, "thread": SCHED_OTHER, "process": SCHED_OTHER}, resp
