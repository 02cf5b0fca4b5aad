"""Scenario: async def entrypoints awaited on the runtime's event loop (concurrency, errors, logging, notify)."""
import asyncio
import logging

from mvi import HTTPException, service
from mvi.communication import Severity, notify

log = logging.getLogger("sdk_async")


@service.entrypoint
async def nap(seconds: float = 1.0) -> float:
    """Sleeps on the loop without blocking it; returns what it slept."""
    await asyncio.sleep(seconds)
    return seconds


@service.entrypoint
async def chatty(tag: str, seconds: float = 0.3) -> str:
    """Logs before and after an await, so two concurrent calls interleave their lines."""
    log.info("chatty-before %s", tag)
    await asyncio.sleep(seconds)
    log.info("chatty-after %s", tag)
    return tag


@service.entrypoint
async def explode(tag: str) -> str:
    await asyncio.sleep(0.01)
    raise ValueError(f"async-explode {tag}")


@service.entrypoint
async def refuse(code: int, detail: str) -> str:
    await asyncio.sleep(0.01)
    raise HTTPException(code, detail)


@service.entrypoint
async def alert(tag: str) -> str:
    await asyncio.sleep(0.01)
    notify(f"async-alert {tag}", Severity.WARNING)
    return tag
