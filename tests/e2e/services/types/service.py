"""Scenario: one entrypoint per kind of the type contract (docs/dev/type-descriptions.md).

Each entrypoint answers a JSON-friendly echo that proves which Python value it received: the type's __name__
plus a plain rendering of the value (and, for containers, the types of the items). tests/e2e/test_types.py drives
it over HTTP; tests/e2e/golden/types.openapi.json is its OpenAPI document.
"""
import dataclasses
import datetime as dt
import enum
import uuid
from typing import Annotated, Any, Literal, NotRequired, Optional, TypedDict, Union

import numpy as np
import pandas as pd
import pydantic

from mvi import service
from mvi.types import ArrayInput, NDArray

service.add_parameter("threshold", 0.5, description="An unused float parameter (typed in the OpenAPI document)")
service.add_parameter("labels", ["a", "b"], expose=False)


def echo(x):
    """{"type": <Python type name>, "value": <x as plain JSON>}."""
    return {"type": type(x).__name__, "value": x}


def item_types(items):
    return [type(i).__name__ for i in items]


# ---- scalars ----------------------------------------------------------------------------------------------------


@service.entrypoint
def echo_str(x: str) -> dict:
    return echo(x)


@service.entrypoint
def echo_int(x: int) -> dict:
    return echo(x)


@service.entrypoint
def echo_float(x: float) -> dict:
    return echo(x)


@service.entrypoint
def echo_bool(x: bool) -> dict:
    return echo(x)


@service.entrypoint
def echo_none(x: None) -> dict:
    return echo(x)


@service.entrypoint
def echo_bytes(x: bytes) -> dict:
    return {"type": type(x).__name__, "hex": x.hex()}


@service.entrypoint
def echo_datetime(x: dt.datetime) -> dict:
    offset = x.utcoffset()
    return {"type": type(x).__name__, "value": x.isoformat(),
            "utcoffset": None if offset is None else offset.total_seconds()}


@service.entrypoint
def echo_date(x: dt.date) -> dict:
    return {"type": type(x).__name__, "value": x.isoformat()}


@service.entrypoint
def echo_time(x: dt.time) -> dict:
    return {"type": type(x).__name__, "value": x.isoformat()}


@service.entrypoint
def echo_uuid(x: uuid.UUID) -> dict:
    return {"type": type(x).__name__, "value": str(x)}


@service.entrypoint
def multi(a: int, b: float, c: bool) -> dict:
    """Three scalars at once: every wrong one is reported."""
    return {"a": echo(a), "b": echo(b), "c": echo(c)}


# ---- containers -------------------------------------------------------------------------------------------------


@service.entrypoint
def echo_list(values: list[int]) -> dict:
    return {"type": type(values).__name__, "value": values, "items": item_types(values)}


@service.entrypoint
def echo_tuple(pair: tuple[int, str]) -> dict:
    return {"type": type(pair).__name__, "value": list(pair), "items": item_types(pair)}


@service.entrypoint
def echo_var_tuple(values: tuple[int, ...]) -> dict:
    return {"type": type(values).__name__, "value": list(values), "items": item_types(values)}


@service.entrypoint
def echo_set(values: set[int]) -> dict:
    return {"type": type(values).__name__, "value": sorted(values), "items": item_types(values)}


@service.entrypoint
def echo_dict(weights: dict[str, float]) -> dict:
    return {"type": type(weights).__name__, "value": weights,
            "items": {k: type(v).__name__ for k, v in weights.items()}}


@service.entrypoint
def echo_optional(x: Optional[int] = None) -> dict:
    return echo(x)


@service.entrypoint
def echo_union(x: Union[int, str]) -> dict:
    return echo(x)


@service.entrypoint
def echo_literal(x: Literal["a", "b"]) -> dict:
    return echo(x)


# ---- classes ----------------------------------------------------------------------------------------------------


class Color(str, enum.Enum):
    """A str-valued Enum."""

    RED = "red"
    GREEN = "green"


class Level(enum.Enum):
    """An int-valued Enum."""

    LOW = 1
    HIGH = 2


@service.entrypoint
def echo_color(color: Color) -> dict:
    return {"type": type(color).__name__, "name": color.name, "value": color.value}


@service.entrypoint
def echo_level(level: Level) -> dict:
    return {"type": type(level).__name__, "name": level.name, "value": level.value}


@dataclasses.dataclass
class Point:
    """A point in the plane."""

    x: float
    y: float


@dataclasses.dataclass
class Window:
    """A time window anchored at a point."""

    start: dt.datetime
    end: dt.datetime
    origin: Point
    label: Optional[str] = None
    repeat: int = 1
    tags: list[str] = dataclasses.field(default_factory=list)


@service.entrypoint
def echo_window(window: Window) -> dict:
    return {
        "type": type(window).__name__,
        "start": [type(window.start).__name__, window.start.isoformat()],
        "end": [type(window.end).__name__, window.end.isoformat()],
        "origin": [type(window.origin).__name__, window.origin.x, window.origin.y],
        "label": window.label,
        "repeat": window.repeat,
        "tags": window.tags,
        "seconds": (window.end - window.start).total_seconds(),
    }


@service.entrypoint
def roundtrip_window(window: Window) -> Window:
    """Returns the dataclass itself: the runtime serialises it."""
    return window


@service.entrypoint
def echo_points(points: list[Point]) -> dict:
    return {"type": type(points).__name__, "items": item_types(points), "xs": [p.x for p in points]}


class Reading(TypedDict):
    """A TypedDict with one optional key."""

    sensor: str
    value: float
    unit: NotRequired[str]


@service.entrypoint
def echo_reading(reading: Reading) -> dict:
    return {"type": type(reading).__name__, "value": reading,
            "items": {k: type(v).__name__ for k, v in reading.items()}}


class Order(pydantic.BaseModel):
    """A pydantic model: an aliased field, a constrained field and a validator."""

    item_id: int = pydantic.Field(alias="itemId")
    quantity: pydantic.conint(gt=0) = 1
    note: Optional[str] = None

    @pydantic.validator("note")
    def note_is_not_shouting(cls, value):
        if value is not None and value.isupper():
            raise ValueError("note must not be all upper case")
        return value


@service.entrypoint
def echo_order(order: Order) -> dict:
    return {"type": type(order).__name__, "item_id": order.item_id, "quantity": order.quantity,
            "note": order.note, "item_id_type": type(order.item_id).__name__}


@service.entrypoint
def roundtrip_order(order: Order) -> Order:
    """Returns the model itself: serialised by alias, as FastAPI does."""
    return order


# ---- numpy, pandas, Any -----------------------------------------------------------------------------------------


def array_echo(a):
    return {"type": type(a).__name__, "dtype": str(a.dtype), "shape": list(a.shape), "value": a.tolist(),
            "contiguous": bool(a.flags["C_CONTIGUOUS"])}


@service.entrypoint
def echo_array(a: np.ndarray) -> dict:
    return array_echo(a)


@service.entrypoint
def echo_any_array(a: ArrayInput) -> dict:
    return array_echo(a)


@service.entrypoint
def echo_matrix(m: Annotated[np.ndarray, NDArray(dtype="int32", shape=(None, 2))]) -> dict:
    return array_echo(m)


@service.entrypoint
def echo_bits(bits: Annotated[np.ndarray, NDArray(dtype="bool", shape=(None, 3))]) -> dict:
    return array_echo(bits)


@service.entrypoint
def double_array(a: np.ndarray) -> np.ndarray:
    """Returns an ndarray: serialised as nested lists."""
    return a * 2


@service.entrypoint
def echo_frame(df: pd.DataFrame) -> dict:
    return {"type": type(df).__name__, "columns": [str(c) for c in df.columns],
            "index": [str(i) for i in df.index], "records": df.to_dict("records")}


@service.entrypoint
def echo_any(x: Any) -> dict:
    return echo(x)


@service.entrypoint
def echo_unannotated(x):
    return echo(x)


# ---- GET entrypoints: arguments from the query string -----------------------------------------------------------


@service.entrypoint(method="GET")
def get_scalars(a: int, b: float = 0.5, flag: bool = False, word: str = "none") -> dict:
    return {"a": echo(a), "b": echo(b), "flag": echo(flag), "word": echo(word)}


@service.entrypoint(method="GET")
def get_list(xs: list[int]) -> dict:
    return {"type": type(xs).__name__, "value": xs, "items": item_types(xs)}


@service.entrypoint(method="GET")
def get_when(day: dt.date, level: Level = Level.LOW, color: Optional[Color] = None) -> dict:
    return {"day": [type(day).__name__, day.isoformat()], "level": [type(level).__name__, level.value],
            "color": None if color is None else [type(color).__name__, color.value]}


if __name__ == "__main__":
    service.run()
