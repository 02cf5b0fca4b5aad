"""Issue 12's regression scenarios: in-band markers, key order, cancelled calls, stuck executors, crashes."""

import asyncio
import ctypes
import datetime
import json
import os
import time
from typing import Any, Dict, Union

import numpy as np
import pandas as pd

from mvi import service

service.add_parameter("zeta", 1)
service.add_parameter("alpha", "a")
service.add_parameter("mid", 2.5)

STATE = {"started": 0, "async_cancelled": 0}


@service.entrypoint
def union_dt_or_dict(x: Union[datetime.datetime, Dict[str, Any]]) -> str:
    if isinstance(x, datetime.datetime):
        return "datetime:" + x.isoformat()
    return "dict:" + json.dumps(x)


@service.entrypoint
def array_or_dict(x: Union[np.ndarray, Dict[str, Any]]) -> dict:
    if isinstance(x, np.ndarray):
        return {"type": "ndarray", "value": x.tolist()}
    return {"type": type(x).__name__, "value": x}


@service.entrypoint
def array(x: np.ndarray) -> dict:
    return {"dtype": str(x.dtype), "value": x.tolist()}


@service.entrypoint
def columns(df: pd.DataFrame) -> list:
    return [str(c) for c in df.columns]


@service.entrypoint
def echo(d: Dict[str, int]) -> Dict[str, int]:
    return d


@service.entrypoint
def ordered() -> dict:
    return {"z": 1, "a": 2, "m": {"y": 1, "b": 2}}


@service.entrypoint
def counted(ms: int) -> int:
    STATE["started"] += 1
    time.sleep(ms / 1000)
    return STATE["started"]


@service.entrypoint
def started() -> int:
    return STATE["started"]


@service.entrypoint
async def wait_async(seconds: float) -> str:
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        STATE["async_cancelled"] += 1
        raise
    return "done"


@service.entrypoint
def async_cancelled() -> int:
    return STATE["async_cancelled"]


@service.entrypoint
def sleepy(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@service.entrypoint
def spin(seconds: float) -> float:
    # Computes (holds the GIL and a CPU) for `seconds`: no other executor wakes for it.
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return seconds


@service.entrypoint
def segfault() -> None:
    ctypes.string_at(0)


@service.entrypoint
def hard_exit(code: int) -> None:
    os._exit(code)


@service.entrypoint
def reserved() -> dict:
    import _mvi_native

    from mvi import _service

    return {"package": sorted(_service.RESERVED_NAMES), "runtime": sorted(_mvi_native.reserved_segments())}
