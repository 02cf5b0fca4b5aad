"""Scenario: SIGTERM while periodic jobs run (sync and async) and an async call is in flight."""
import asyncio
import logging
import time

from mvi import service

log = logging.getLogger("sdk_shutdown")


@service.call_every(0.1)
def busy_sync():
    time.sleep(0.3)


@service.call_every(0.1)
async def busy_async():
    await asyncio.sleep(0.3)


@service.entrypoint
async def linger(seconds: float = 1.5) -> str:
    log.info("linger-started")
    await asyncio.sleep(seconds)
    log.info("linger-finished")
    return "finished"
