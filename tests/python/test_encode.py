"""mvi._encode.to_jsonable: the runtime's fallback for return values its C++ converter does not know."""

import dataclasses
import datetime
import decimal
import enum
import json
import pathlib
import sys
import types
import uuid
from typing import Optional

import pytest

# numpy, pandas and pydantic are optional for mvi but needed here
import numpy as np
import pandas as pd
import pydantic  # noqa: F401  (installed by scripts/setup.sh: the suite needs it)
try:
    import pydantic.v1 as pydantic  # the v1 API, which pydantic 2 still ships
except ImportError:
    import pydantic

from mvi._encode import to_jsonable

NAN, INF = float("nan"), float("inf")


def plain(value):
    """to_jsonable's result, checked to be strict JSON data (no NaN/Inf, only str/int/float/bool/None keys)."""
    result = to_jsonable(value)
    json.dumps(result, allow_nan=False)
    return result


class Color(enum.Enum):
    RED = "red"
    NESTED = (1, datetime.date(2024, 1, 1))


class Flags(enum.IntFlag):
    A = 1
    B = 2


@dataclasses.dataclass
class Inner:
    when: datetime.date
    score: float


@dataclasses.dataclass
class Outer:
    name: str
    inner: Optional[Inner]
    values: np.ndarray
    color: Color = Color.RED


@pytest.mark.parametrize(
    "value, expected",
    [
        # numpy
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        (np.array([1.5, NAN, INF, -INF]), [1.5, None, None, None]),
        (np.array([True, False]), [True, False]),
        (np.array([1, 2], dtype=np.uint8), [1, 2]),
        (np.zeros((0, 3)), []),
        (np.array(["2024-01-01T10:00", "NaT"], dtype="datetime64[ns]"), ["2024-01-01T10:00:00", None]),
        (np.array([1500], dtype="timedelta64[ms]"), [1.5]),
        (np.array(["a", "b"]), ["a", "b"]),
        (np.array([{"a": np.int64(1)}], dtype=object), [{"a": 1}]),
        (np.float32(1.5), 1.5), (np.float32(NAN), None), (np.float16(INF), None), (np.int64(7), 7),
        (np.uint64(2**63), 2**63), (np.bool_(True), True), (np.datetime64("2024-01-02"), "2024-01-02T00:00:00"),
        (np.datetime64("NaT"), None), (np.timedelta64(2, "s"), 2.0),
        # dates and times, naive datetimes stay naive
        (datetime.datetime(2024, 5, 1, 12, 30), "2024-05-01T12:30:00"),
        (datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone.utc), "2024-05-01T12:00:00+00:00"),
        (datetime.date(2024, 5, 1), "2024-05-01"),
        (datetime.time(12, 30, 15, 500), "12:30:15.000500"),
        (datetime.timedelta(minutes=1, microseconds=500000), 60.5),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
        (decimal.Decimal("1.25"), 1.25), (decimal.Decimal("NaN"), "NaN"), (decimal.Decimal("-Infinity"), "-Infinity"),
        (Color.RED, "red"), (Color.NESTED, [1, "2024-01-01"]), (Flags.A | Flags.B, 3),
        (b"hi", "aGk="), (bytearray(b"\x00\xff"), "AP8="), (memoryview(b"abc"), "YWJj"), (b"", ""),
        (pathlib.PurePosixPath("/data/x.csv"), "/data/x.csv"),
        # pandas scalars
        (pd.Timestamp("2024-01-01T10:00:00", tz="UTC"), "2024-01-01T10:00:00+00:00"),
        (pd.Timedelta(seconds=3), 3.0), (pd.NaT, None), (pd.NA, None),
    ],
)
def test_leaves(value, expected):
    result = plain(value)
    assert result == expected and type(result) is type(expected)


def test_dataframe_in_daeploys_to_dict_form():
    frame = pd.DataFrame({
        "a": [1.5, NAN],
        "when": [pd.Timestamp("2024-01-01"), pd.NaT],
        "s": ["x", None],
        "i": [1, 2],
        "ok": [True, False],
    })
    assert plain(frame) == {
        "a": {"0": 1.5, "1": None},
        "when": {"0": "2024-01-01T00:00:00", "1": None},
        "s": {"0": "x", "1": None},
        "i": {"0": 1, "1": 2},
        "ok": {"0": True, "1": False},
    }
    assert type(plain(frame)["i"]["0"]) is int


def test_dataframe_index_and_column_keys_become_strings():
    frame = pd.DataFrame({0: [1], "b": [2]}, index=pd.to_datetime(["2024-01-01"]))
    assert plain(frame) == {"0": {"2024-01-01T00:00:00": 1}, "b": {"2024-01-01T00:00:00": 2}}
    assert plain(pd.DataFrame({"x": [1, 2]}, index=["r1", "r2"])) == {"x": {"r1": 1, "r2": 2}}
    assert plain(pd.DataFrame()) == {}


def test_dataframe_round_trips_through_from_dict():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    back = pd.DataFrame.from_dict(plain(frame))
    assert back.reset_index(drop=True).equals(frame)


def test_series():
    assert plain(pd.Series([1.0, NAN], index=["a", "b"])) == {"a": 1.0, "b": None}
    assert plain(pd.Series([pd.Timestamp("2024-01-01")])) == {"0": "2024-01-01T00:00:00"}


def test_dataclasses_recursively():
    value = Outer("p", Inner(datetime.date(2024, 1, 1), NAN), np.array([1, 2]))
    assert plain(value) == {"name": "p", "inner": {"when": "2024-01-01", "score": None}, "values": [1, 2],
                            "color": "red"}


class Address(pydantic.BaseModel):
    city: str


class User(pydantic.BaseModel):
    user_name: str = pydantic.Field(alias="userName")
    joined: datetime.datetime
    color: Color = Color.RED
    address: Optional[Address] = None
    score: float = NAN


def test_pydantic_v1_model_uses_its_own_json_with_aliases():
    user = User(userName="bob", joined=datetime.datetime(2024, 1, 1, 12), address={"city": "Lund"})
    assert plain(user) == {"userName": "bob", "joined": "2024-01-01T12:00:00", "color": "red",
                           "address": {"city": "Lund"}, "score": None}


class WithArray(pydantic.BaseModel):
    values: np.ndarray

    class Config:
        arbitrary_types_allowed = True


def test_pydantic_v1_model_with_types_pydantic_cannot_encode():
    assert plain(WithArray(values=np.array([1.5, NAN]))) == {"values": [1.5, None]}


def test_pydantic_v2_model_by_feature_detection(monkeypatch):
    calls = []

    class FakeBase:
        def model_dump(self, mode="python", by_alias=False):
            calls.append((mode, by_alias))
            if mode == "json":
                return {"itemId": 1, "when": "2024-01-01T00:00:00"}
            return {"itemId": 1}

    class Failing(FakeBase):
        def model_dump(self, mode="python", by_alias=False):
            if mode == "json":
                raise ValueError("cannot serialise ndarray")
            return {"values": np.array([1, 2])}

    fake = types.ModuleType("pydantic")
    fake.BaseModel = FakeBase
    monkeypatch.setitem(sys.modules, "pydantic", fake)
    assert plain(FakeBase()) == {"itemId": 1, "when": "2024-01-01T00:00:00"}
    assert calls == [("json", True)]
    assert plain(Failing()) == {"values": [1, 2]}


def test_containers_with_unknown_leaves_are_converted_deeply():
    value = {"a": [np.int64(1), {datetime.date(2024, 1, 1): {np.float32(NAN)}}], Color.RED: (uuid.UUID(int=0),)}
    assert plain(value) == {"a": [1, {"2024-01-01": [None]}], "red": ["00000000-0000-0000-0000-000000000000"]}


def test_primitive_input_is_returned_as_is():
    assert plain("x") == "x" and plain(3) == 3 and plain(None) is None and plain(NAN) is None
    assert plain({"k": [1, (2,), {3}]}) == {"k": [1, [2], [3]]}


class Opaque:
    def __iter__(self):
        return iter([1, 2])


@pytest.mark.parametrize("value, name", [
    (object(), "object"), (Opaque(), "Opaque"), ((i for i in range(2)), "generator"), (1j, "complex"),
    (np.complex64(1), "complex64"), ({1, 2}.__iter__(), "set_iterator"), ([1, object()], "object"),
])
def test_unknown_types_raise_type_error(value, name):
    with pytest.raises(TypeError, match=f"^Object of type {name} is not JSON serializable$"):
        to_jsonable(value)


def test_circular_structures_fail_cleanly():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested too deeply"):
        to_jsonable(loop)
