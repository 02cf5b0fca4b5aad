"""Scenario: monitoring — service.store() with every kind of value, a monitor=True entrypoint, a monitored
parameter."""
import datetime

import numpy as np

from mvi import service

service.add_parameter("threshold", 1.5, monitor=True)
service.add_parameter("label", "a")  # not monitored


class Opaque:
    """Nothing can encode this."""


@service.entrypoint
def record(name: str, value=None) -> str:
    """store(name=value) with a JSON value."""
    service.store(**{name: value})
    return "stored"


@service.entrypoint
def record_many(count: int, name: str = "series") -> int:
    """store(name=i) for i in range(count), one call each."""
    for i in range(count):
        service.store(**{name: i})
    return count


@service.entrypoint
def record_kinds() -> str:
    """One store() call with Python values the JSON body cannot carry, including one nothing can encode."""
    service.store(
        kind_int=42,
        kind_float=2.5,
        kind_str="hello",
        kind_dict={"a": [1, 2], "b": {"c": None}},
        kind_list=[1, "two", 3.0, True],
        kind_datetime=datetime.datetime(2024, 5, 1, 12, 30, 15, 250000),
        kind_np_float=np.float64(1.25),
        kind_np_int=np.int64(7),
        kind_opaque=Opaque(),
    )
    return "stored"


@service.entrypoint(monitor=True)
def scale(x: float, factor: int = 2) -> dict:
    return {"scaled": x * factor}
