"""Scenario: @service.call_every jobs — a steady counter (sync and async), an overrunning job, a job that raises,
a wait_first job, and a blocking sync job that must not stall async entrypoints. Each job records the wall-clock
start (and end) of its runs; `runs` returns them."""
import asyncio
import threading
import time

from mvi import service

LOADED_AT = time.time()
_lock = threading.Lock()
_runs = {"steady": [], "steady_async": [], "slow": [], "failing": [], "late": [], "blocker": []}


def _mark(name, start, end=None):
    with _lock:
        _runs[name].append([start, end if end is not None else start])


@service.call_every(0.2)
def steady():
    _mark("steady", time.time())


@service.call_every(0.25)
async def steady_async():
    _mark("steady_async", time.time())
    await asyncio.sleep(0)


@service.call_every(0.2)
def slow():
    start = time.time()
    time.sleep(0.35)  # longer than its interval: every run overruns
    _mark("slow", start, time.time())


@service.call_every(0.2)
def failing():
    _mark("failing", time.time())
    raise RuntimeError("job-failure-marker")


@service.call_every(1.0, wait_first=True)
def late():
    _mark("late", time.time())


@service.call_every(0.1)
def blocker():
    start = time.time()
    time.sleep(0.5)  # a blocking sync job: runs in a thread, never on the event loop
    _mark("blocker", start, time.time())


@service.entrypoint
def runs() -> dict:
    with _lock:
        return {"loaded_at": LOADED_AT, "now": time.time(), "runs": {k: list(v) for k, v in _runs.items()}}


@service.entrypoint
async def ping() -> float:
    return time.time()
