"""Scenario: @service.on_startup and @service.on_shutdown, sync and async, in-process and in worker processes.
LIFESPAN_FAIL=1 makes a startup function raise."""
import asyncio
import logging
import os

from mvi import service

log = logging.getLogger("lifespan")
state = {"model": None}


@service.on_startup
def load_model():
    if os.environ.get("LIFESPAN_FAIL") == "1":
        raise RuntimeError("startup failure marker 7d1e")
    state["model"] = "loaded"
    log.info("startup sync in %d", os.getpid())


@service.on_startup
async def warm_up():
    await asyncio.sleep(0)
    log.info("startup async in %d", os.getpid())


@service.on_shutdown
def release():
    log.info("shutdown sync in %d", os.getpid())


@service.on_shutdown
def broken():
    raise ValueError("shutdown failure marker 3b9a")


@service.on_shutdown
async def close_async():
    await asyncio.sleep(0)
    log.info("shutdown async in %d", os.getpid())


@service.entrypoint
def model() -> dict:
    return {"model": state["model"], "pid": os.getpid()}


@service.entrypoint
async def ping() -> str:  # an async entrypoint: the runtime's loop runs, and async hooks use it
    return "pong"
