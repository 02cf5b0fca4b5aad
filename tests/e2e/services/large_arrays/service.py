"""Scenario: bodies large enough for the simdjson fast path (ndarray arguments packed without a JSON DOM)."""
from typing import Annotated

import numpy as np

from mvi import service
from mvi.types import NDArray


def describe(a):
    return {"sum": float(a.sum()), "dtype": str(a.dtype), "shape": list(a.shape), "writable": bool(a.flags.writeable)}


@service.entrypoint
def total(values: np.ndarray, label: str = "x") -> dict:
    return {**describe(values), "label": label}


@service.entrypoint
def rows(points: Annotated[np.ndarray, NDArray(dtype="float32", shape=(None, 3))]) -> dict:
    return describe(points)
