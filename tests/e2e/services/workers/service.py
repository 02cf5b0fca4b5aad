"""Scenario: isolated mode (--workers N). Entrypoints that kill their process in the ways user code does
(a C extension's segfault, os._exit, an import that fails on demand), a healthy one that names its process,
one that reports the parameter it sees, and a periodic job that counts its runs in its log."""
import asyncio
import ctypes
import logging
import os
import time

from mvi import service
from mvi.communication import notify, Severity

log = logging.getLogger("workers")

service.add_parameter("factor", 1)


@service.entrypoint
def whoami(delay: float = 0.0) -> dict:
    if delay:
        time.sleep(delay)
    return {"pid": os.getpid()}


@service.entrypoint
def factor(delay: float = 0.0) -> int:
    first = service.get_parameter("factor")
    if delay:
        time.sleep(delay)
    # A call sees one generation from start to end, even if a change arrives while it runs.
    assert service.get_parameter("factor") == first
    return first


@service.entrypoint
def segfault() -> int:
    ctypes.string_at(0)
    return 0


@service.entrypoint
def segfault_after(delay: float) -> int:
    time.sleep(delay)
    ctypes.string_at(0)
    return 0


@service.entrypoint
def hard_exit(code: int) -> int:
    os._exit(code)


@service.entrypoint
def spin_forever() -> int:
    while True:
        pass


@service.entrypoint
def allocate(mib: int, hold: float = 2.0) -> int:
    block = b"\x01" * (mib << 20)  # written byte by byte: resident at once
    time.sleep(hold)
    return len(block)


@service.entrypoint
async def wait_async(seconds: float) -> str:
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        log.warning("wait_async cancelled in %d", os.getpid())
        raise
    return "done"


@service.entrypoint
def speak(msg: str) -> str:
    log.warning("spoken %s", msg)
    print("printed", msg)
    notify(msg, Severity.WARNING)
    service.store(spoken=msg)
    return msg


@service.entrypoint
def set_factor(value: int) -> int:
    service.set_parameter("factor", value)
    return value


if os.environ.get("WORKERS_TEST_JOBS") == "1":

    @service.call_every(0.2)
    def tick():
        log.info("tick from %d", os.getpid())
