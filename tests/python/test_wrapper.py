"""The callable `@service.entrypoint` returns: coerces arguments like the HTTP path, raises mvi.ValidationError
listing every bad argument, passes fitting values through, keeps the original function in the export."""

import asyncio
import dataclasses
import datetime
import enum
import inspect
import uuid
from typing import Annotated, Optional

import pytest

# numpy, pandas and pydantic are optional for mvi but needed here
import numpy as np
import pandas as pd
import pydantic  # noqa: F401  (installed by scripts/setup.sh: the suite needs it)
try:
    import pydantic.v1 as pydantic  # the v1 API, which pydantic 2 still ships
except ImportError:
    import pydantic

import mvi
from mvi import ValidationError, service
from mvi.types import NDArray


@pytest.fixture(autouse=True)
def fresh_service():
    service._reset()
    yield
    service._reset()


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class Order(pydantic.BaseModel):
    order_id: int = pydantic.Field(alias="orderId")
    items: list[str] = []


def test_validation_error_is_exported_and_a_value_error():
    assert mvi.ValidationError is ValidationError and issubclass(ValidationError, ValueError)
    assert "ValidationError" in mvi.__all__


def test_wrapper_looks_like_the_function_and_the_export_keeps_the_original():
    def hello(name: str, times: int = 1) -> str:
        """Greets."""
        return " ".join([f"Hello {name}"] * times)

    wrapper = service.entrypoint(hello)
    assert wrapper is not hello and wrapper.__wrapped__ is hello
    assert (wrapper.__name__, wrapper.__doc__) == ("hello", "Greets.")
    assert inspect.signature(wrapper) == inspect.signature(hello)
    assert service.hello is wrapper
    assert service._export()["entrypoints"][0]["function"] is hello
    assert wrapper("Bob") == "Hello Bob" and wrapper(name="Ann", times="2") == "Hello Ann Hello Ann"


def test_arguments_are_built_like_the_runtime_builds_them():
    seen = {}

    @service.entrypoint
    def everything(n: int, when: datetime.datetime, day: datetime.date, raw: bytes, key: uuid.UUID, color: Color,
                   point: Point, order: Order, arr: Annotated[np.ndarray, NDArray(dtype="float32", shape=(None, 2))],
                   frame: pd.DataFrame, ids: tuple[int, ...], tags: set[str], maybe: Optional[Point] = None):
        seen.update(locals())

    everything("5", "2024-05-01T12:00:00Z", "2024-05-01", "aGk=", "12345678123456781234567812345678", "green",
               {"x": "1.5"}, {"orderId": "7", "items": ["a"]}, [[1, 2], [3, 4]], {"a": [1, 2]}, ["1", 2], ["a", "a"],
               maybe={"x": 2})
    assert seen["n"] == 5
    assert seen["when"] == datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone.utc)
    assert seen["day"] == datetime.date(2024, 5, 1) and seen["raw"] == b"hi"
    assert seen["key"] == uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert seen["color"] is Color.GREEN
    assert seen["point"] == Point(1.5) and seen["maybe"] == Point(2.0)
    assert isinstance(seen["order"], Order) and seen["order"].order_id == 7
    assert seen["arr"].dtype == np.float32 and seen["arr"].shape == (2, 2)
    assert isinstance(seen["frame"], pd.DataFrame) and seen["frame"]["a"].tolist() == [1, 2]
    assert seen["ids"] == (1, 2) and seen["tags"] == {"a"}


def test_fitting_python_values_pass_through_unchanged():
    seen = {}

    @service.entrypoint
    def take(arr: np.ndarray, when: datetime.datetime, point: Point, frame: pd.DataFrame, color: Color,
             items: list[int], order: Order):
        seen.update(locals())

    values = dict(arr=np.zeros(3), when=datetime.datetime.now(), point=Point(1.0), frame=pd.DataFrame({"a": [1]}),
                  color=Color.RED, items=[1, 2], order=Order(orderId=1))
    take(**values)
    for name, value in values.items():
        assert seen[name] is value, name


def test_every_bad_argument_is_listed_with_its_location():
    @service.entrypoint
    def create(name: str, count: int, point: Point, tags: list[int], color: Color = Color.RED):
        pytest.fail("must not be called")

    with pytest.raises(ValidationError) as info:
        create(5, count="many", point={"y": "x"}, tags=[1, "two", 3], color="blue")
    assert str(info.value) == (
        "entrypoint 'create': 6 validation errors\n"
        "  name: expected str, got 5\n"
        "  count: expected int, got 'many'\n"
        "  point['x']: field required\n"
        "  point['y']: expected float, got 'x'\n"
        "  tags[1]: expected int, got 'two'\n"
        "  color: expected one of ['red', 'green'] (Color), got 'blue'")
    assert info.value.errors()[2] == {"type": "missing", "loc": ("point", "x"), "msg": "field required"}
    assert [e["type"] for e in info.value.errors()] == [
        "string_type", "int_parsing", "missing", "float_parsing", "int_parsing", "enum"]


def test_pydantic_validator_errors_are_validation_errors():
    class Positive(pydantic.BaseModel):
        n: int

        @pydantic.validator("n")
        def positive(cls, value):
            if value <= 0:
                raise ValueError("must be positive")
            return value

    @service.entrypoint
    def take(p: Positive):
        return p.n

    assert take({"n": "3"}) == 3
    with pytest.raises(ValidationError, match=r"p\['n'\]: must be positive"):
        take({"n": 0})


@pytest.mark.parametrize("call, fragment", [
    (lambda f: f(), "missing a required argument: 'name'"),
    (lambda f: f("a", 1, 2), "too many positional arguments"),
    (lambda f: f("a", nope=1), "got an unexpected keyword argument 'nope'"),
    (lambda f: f("a", name="b"), "multiple values for argument 'name'"),
])
def test_call_shape_mistakes_stay_type_errors(call, fragment):
    @service.entrypoint
    def greet(name: str, times: int = 1):
        return name

    with pytest.raises(TypeError, match=f"entrypoint 'greet': {fragment}"):
        call(greet)


def test_omitted_arguments_get_the_functions_defaults_uncoerced():
    sentinel = object()

    @service.entrypoint
    def f(a: int, b: Optional[list[int]] = None, c: int = sentinel):
        return a, b, c

    assert f(1) == (1, None, sentinel)
    assert f(1, ["2"], c="3") == (1, [2], 3)


def test_keyword_only_parameters():
    @service.entrypoint
    def f(a: int, *, b: float = 1.0):
        return a + b

    assert f("1", b="2.5") == 3.5
    with pytest.raises(TypeError, match="too many positional"):
        f(1, 2)


def test_plain_values_skip_coercion_and_lax_ones_are_converted():
    @service.entrypoint
    def f(s: str, i: int, x: float, flag: bool, anything=None):
        return s, i, x, flag, anything

    marker = object()
    assert f("a", 1, 1.5, True, marker) == ("a", 1, 1.5, True, marker)
    result = f("a", True, 2, "yes")
    assert result == ("a", 1, 2.0, True, None) and type(result[1]) is int and type(result[2]) is float


def test_async_entrypoints_get_an_async_wrapper():
    @service.entrypoint
    async def double(n: int, when: Optional[datetime.date] = None) -> tuple:
        await asyncio.sleep(0)
        return n * 2, when

    assert inspect.iscoroutinefunction(double) and inspect.iscoroutinefunction(service.double)
    assert service._export()["entrypoints"][0]["is_async"] is True
    assert asyncio.run(double("21", when="2024-01-02")) == (42, datetime.date(2024, 1, 2))
    with pytest.raises(ValidationError, match="n: expected int"):
        asyncio.run(double("x"))


def test_wrapper_and_service_attribute_are_the_same_callable():
    @service.entrypoint(method="GET")
    def ping(n: int = 0) -> int:
        return n

    assert service.ping is ping and service.ping("4") == 4
