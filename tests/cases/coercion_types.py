"""The names a case's "type" in coercion.json may use: typing's and datetime's, and the classes below.
A module of its own so that the generated e2e service can import the very same classes."""

import dataclasses
import enum
from datetime import date, datetime, time
from typing import Any, Literal, NotRequired, Optional, TypedDict, Union
from uuid import UUID


class Color(str, enum.Enum):
    """Matched by member value ("red"), never by name ("RED")."""

    RED = "red"
    GREEN = "green"


class Level(enum.Enum):
    """Int values, also matched from numeric strings ("2", " 1 ", "2.0") as query strings carry them."""

    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    """Members of three JSON types: matched by type as well as value (1 is not True)."""

    A = 1.5
    B = True
    C = 3


@dataclasses.dataclass
class Point:
    x: float
    y: float


@dataclasses.dataclass
class Window:
    start: datetime
    origin: Point
    label: Optional[str] = None
    tags: list[str] = dataclasses.field(default_factory=list)


class Reading(TypedDict):
    sensor: str
    value: float
    unit: NotRequired[str]


NAMES = {
    "Any": Any, "Literal": Literal, "Optional": Optional, "Union": Union,
    "date": date, "datetime": datetime, "time": time, "UUID": UUID,
    "Color": Color, "Level": Level, "Mixed": Mixed, "Point": Point, "Window": Window, "Reading": Reading,
}
"""What `eval(case["type"], NAMES)` sees, besides the builtins (str, int, list, dict, tuple, set, bytes, None)."""

__all__ = list(NAMES)
