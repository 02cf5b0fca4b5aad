"""Local lax coercion for the richer kinds, beyond the JSON rules of tests/cases/coercion.json (which
test_coercion_cases.py runs): Python values that already fit pass through unchanged, Python-only inputs (bytearray,
datetime for date, tuples, sets), constructors and pydantic models, numpy and pandas; every problem is reported
with its location and type."""

import dataclasses
import datetime
import enum
import uuid
from typing import Annotated, Optional, TypedDict, Union

import pytest

# numpy, pandas and pydantic are optional for mvi but needed here
import numpy as np
import pandas as pd
import pydantic  # noqa: F401  (installed by scripts/setup.sh: the suite needs it)
try:
    import pydantic.v1 as pydantic  # the v1 API, which pydantic 2 still ships
except ImportError:
    import pydantic

from mvi._signature import Context, Invalid, coerce, describe
from mvi.types import NDArray

UTC = datetime.timezone.utc


def fit(value, annotation):
    ctx = Context()
    desc = describe(annotation, ctx)
    return coerce(value, desc, ctx.classes)


def errors_of(value, annotation):
    with pytest.raises(Invalid) as info:
        fit(value, annotation)
    assert isinstance(info.value, ValueError)
    return info.value.errors


# ---- bytes, dates and times, UUIDs: Python-only inputs (the JSON forms are in tests/cases/coercion.json) ----


@pytest.mark.parametrize(
    "value, annotation, expected",
    [
        (bytearray(b"ab"), bytes, b"ab"), (memoryview(b"cd"), bytes, b"cd"),
        (datetime.datetime(2024, 5, 1), datetime.date, datetime.date(2024, 5, 1)),
        (2**70, datetime.datetime, None), (float("nan"), datetime.datetime, None), (float("inf"), datetime.datetime, None),
        (datetime.date(2024, 1, 1), datetime.datetime, None), (datetime.datetime(2024, 5, 1, 12), datetime.date, None),
        (datetime.datetime(2024, 5, 1, tzinfo=UTC), datetime.date, None), (b"x", datetime.time, None),
    ],
)
def test_python_values_for_formats(value, annotation, expected):
    if expected is None:
        assert errors_of(value, annotation)[0][2] in (
            "datetime_type", "datetime_parsing", "date_from_datetime_inexact", "time_type")
        return
    result = fit(value, annotation)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("value, annotation", [
    (b"raw", bytes), (datetime.datetime(2024, 1, 1, tzinfo=UTC), datetime.datetime),
    (datetime.date(2024, 1, 1), datetime.date),
    (datetime.time(1, 2), datetime.time), (uuid.uuid4(), uuid.UUID), (pd.Timestamp("2024-01-01"), datetime.datetime),
])
def test_already_fitting_values_pass_through(value, annotation):
    assert fit(value, annotation) is value


# ---- containers ----


def test_containers_are_built():
    assert fit(["1", 2], tuple[int, ...]) == (1, 2)
    assert fit(["1", 2, 2.0], set[int]) == {1, 2}
    result = fit(("a",), frozenset[str])
    assert result == frozenset({"a"}) and type(result) is frozenset
    assert type(fit([1], tuple)) is tuple and type(fit([1, 2], set)) is set
    assert fit({1, 2}, list[int]) in ([1, 2], [2, 1])


def test_containers_pass_through_when_nothing_changes():
    for value, annotation in [([1, 2], list[int]), ((1, 2), tuple[int, ...]), ({1, 2}, set[int]),
                              (frozenset({"a"}), frozenset[str]), ({"a": 1}, dict[str, int]),
                              ((1, "x"), tuple[int, str]), ([object()], list)]:
        assert fit(value, annotation) is value
    changed = [1, "2"]
    assert fit(changed, list[int]) == [1, 2] and changed == [1, "2"]  # a new list; the input is left alone


def test_set_of_unhashable_values_is_invalid():
    assert "hashable" in errors_of([[1], [2]], set)[0][1]


def test_every_bad_item_is_reported():
    assert errors_of(["x", 1, "y"], tuple[int, ...]) == [
        ((0,), "expected int, got 'x'", "int_parsing"), ((2,), "expected int, got 'y'", "int_parsing")]
    # a union that fails reports each option's own errors under the option's name, as the runtime does
    assert [(loc, t) for loc, _, t in errors_of({"a": "1", "b": "x", "c": [1, "z"]}, dict[str, Union[int, list[int]]])
            ] == [(("b", "int"), "int_parsing"), (("b", "list[int]"), "list_type"),
                  (("c", "int"), "int_type"), (("c", "list[int]", 1), "int_parsing")]


# ---- Enums ----


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def test_enum_members_pass_through():
    # the JSON rules (by value, numeric strings, types must match) are in tests/cases/coercion.json
    assert fit(Color.RED, Color) is Color.RED
    assert fit(Level.LOW, Level) is Level.LOW
    assert fit("2", Level) is Level.HIGH


# ---- dataclasses, TypedDicts, pydantic models ----


@dataclasses.dataclass
class Inner:
    z: float
    label: Optional[str] = None


@dataclasses.dataclass
class Outer:
    x: int
    inner: Optional[Inner]
    when: datetime.date = datetime.date(2000, 1, 1)
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Checked:
    n: int

    def __post_init__(self):
        if self.n < 0:
            raise ValueError("n must be >= 0")


def test_dataclass_from_dict():
    result = fit({"x": "1", "inner": {"z": 2}, "when": "2024-01-02", "unknown": "ignored"}, Outer)
    assert result == Outer(x=1, inner=Inner(z=2.0), when=datetime.date(2024, 1, 2))
    assert type(result.inner.z) is float
    assert fit({"x": 1, "inner": None}, Outer) == Outer(1, None)


def test_dataclass_instance_passes_through():
    value = Outer(x=1, inner=None)
    assert fit(value, Outer) is value
    assert fit(value, Optional[Outer]) is value


def test_dataclass_errors_are_all_reported_with_locations():
    assert errors_of({"x": "a", "inner": {"label": 5}, "tags": ["t", 1]}, Outer) == [
        (("x",), "expected int, got 'a'", "int_parsing"),
        (("inner", "z"), "field required", "missing"),
        (("inner", "label"), "expected str, got 5", "string_type"),
        (("tags", 1), "expected str, got 1", "string_type"),
    ]
    assert errors_of({}, Outer) == [(("x",), "field required", "missing"), (("inner",), "field required", "missing")]
    assert "expected Outer or a dict" in errors_of([1], Outer)[0][1]


def test_constructor_errors_become_invalid():
    assert errors_of({"n": -1}, Checked) == [((), "ValueError: n must be >= 0", "value_error")]


class Movie(TypedDict, total=False):
    title: str
    year: int


def test_typeddict_builds_a_dict():
    result = fit({"title": "Heat", "year": "1995", "rating": 5}, Movie)
    assert result == {"title": "Heat", "year": 1995} and type(result) is dict
    assert fit({}, Movie) == {}
    assert errors_of({"year": "x"}, Movie) == [(("year",), "expected int, got 'x'", "int_parsing")]


class Address(pydantic.BaseModel):
    city: str


class User(pydantic.BaseModel):
    user_name: str = pydantic.Field(alias="userName")
    age: Optional[int]
    color: Color = Color.RED
    address: Optional[Address] = None
    nick: pydantic.constr(max_length=3) = "x"

    @pydantic.validator("age")
    def adult(cls, value):
        if value is not None and value < 18:
            raise ValueError("too young")
        return value


def test_pydantic_v1_model_from_dict_by_alias():
    user = fit({"userName": "bob", "age": "42", "color": "green", "address": {"city": "Lund"}}, User)
    assert isinstance(user, User)
    assert (user.user_name, user.age, user.color, user.address.city) == ("bob", 42, Color.GREEN, "Lund")
    assert fit(user, User) is user


def test_pydantic_errors_keep_their_locations():
    assert errors_of({"userName": "bob", "age": 3}, User) == [(("age",), "too young", "value_error")]
    assert errors_of({"userName": "bob", "age": 30, "nick": "long"}, User)[0][0] == ("nick",)
    assert errors_of({"age": "x"}, User) == [
        (("userName",), "field required", "missing"), (("age",), "expected int, got 'x'", "int_parsing")]


class FakeV2Model:
    """Stand-in with pydantic v2's interface (model_fields, model_validate)."""

    class _Field:
        def __init__(self, annotation, alias=None, required=True):
            self.annotation, self.alias, self.required = annotation, alias, required

        def is_required(self):
            return self.required

    model_fields = {"item_id": _Field(int, alias="itemId"), "note": _Field(str, required=False)}
    model_validate = classmethod(lambda cls, data: cls(**data))

    def __init__(self, **data):
        self.data = data


def test_pydantic_v2_style_model_is_built_from_its_aliases():
    assert fit({"itemId": "7", "other": 1}, FakeV2Model).data == {"itemId": 7}


# ---- numpy ----


def nd(dtype=None, shape=None):
    return Annotated[np.ndarray, NDArray(dtype=dtype, shape=shape)]


@pytest.mark.parametrize("value, annotation, dtype, expected", [
    ([[1, 2], [3, 4]], np.ndarray, "int64", [[1, 2], [3, 4]]),
    ([1.5, 2], np.ndarray, "float64", [1.5, 2.0]),
    ([True, False], np.ndarray, "bool", [True, False]),
    ([], np.ndarray, "float64", []),
    ([[1, 2, 3]], nd("float32", (None, 3)), "float32", [[1.0, 2.0, 3.0]]),
    ([1.0, 2.0], nd("int32"), "int32", [1, 2]),
    ([0, 1], nd(bool), "bool", [False, True]),
    ((1, 2), nd("uint8", (2,)), "uint8", [1, 2]),
    (np.array([1, 2], dtype=np.int64), nd("float32"), "float32", [1.0, 2.0]),
    (np.array([1e300]), nd("float32"), None, None),
])
def test_ndarray_built_from_lists(value, annotation, dtype, expected):
    if dtype is None:
        errors_of(value, annotation)
        return
    result = fit(value, annotation)
    assert type(result) is np.ndarray and result.dtype == np.dtype(dtype) and result.tolist() == expected


@pytest.mark.parametrize("value, annotation, fragment", [
    ([[1, 2], [3]], np.ndarray, "rectangular"),
    (["a", "b"], np.ndarray, "numbers"),  # Daeploy's ArrayInput takes any JSON array (below)
    ([1, None], np.ndarray, "numbers"),
    (5, np.ndarray, "expected ndarray"),
    ("1,2", np.ndarray, "expected ndarray"),
    ([1.5], nd("int32"), "fit int32"),
    ([2], nd(bool), "fit bool"),
    ([300], nd("uint8"), "fit uint8"),
    ([[1, 2]], nd(shape=(None, 3)), "shape (*, 3), got shape (1, 2)"),
    ([1, 2], nd(shape=(None, 2)), "shape (*, 2), got shape (2,)"),
    ([1, 2, 3], nd(shape=(2,)), "shape (2,), got shape (3,)"),
])
def test_ndarray_rejects(value, annotation, fragment):
    (loc, msg, type_), = errors_of(value, annotation)
    assert fragment in msg and type_.startswith("ndarray_")


def test_array_input_is_whatever_numpy_makes_of_the_value():
    from mvi.types import ArrayInput
    desc = describe(ArrayInput)
    assert desc["elements"] == "any"
    words = coerce(["a", 1], desc)
    assert words.dtype.kind == "U" and words.tolist() == ["a", "1"]
    objects = coerce([1, None], desc)
    assert objects.dtype == object and objects.tolist() == [1, None]


def test_ndarray_passes_through():
    array = np.arange(6.0).reshape(2, 3)
    assert fit(array, np.ndarray) is array
    assert fit(array, nd("float64", (2, None))) is array
    from mvi.types import ArrayInput

    assert fit(array, ArrayInput) is array


# ---- pandas ----


def test_dataframe_from_the_three_table_shapes():
    columns = fit({"a": [1, 2], "b": ["x", "y"]}, pd.DataFrame)
    assert list(columns.columns) == ["a", "b"] and columns["a"].tolist() == [1, 2]
    indexed = fit({"a": {"0": 1.5, "1": 2.5}}, pd.DataFrame)  # the to_dict() form, index keys as strings
    assert indexed.equals(pd.DataFrame.from_dict({"a": {"0": 1.5, "1": 2.5}}))
    records = fit([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], pd.DataFrame)
    assert records.to_dict("records") == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert fit([], pd.DataFrame).empty


def test_dataframe_passes_through_and_rejects():
    frame = pd.DataFrame({"a": [1]})
    assert fit(frame, pd.DataFrame) is frame
    assert errors_of({"a": [1, 2], "b": [1]}, pd.DataFrame) == [
        (("b",), "all columns must have the same length", "dataframe_shape")]
    assert errors_of({"a": 5}, pd.DataFrame)[0][0] == ("a",)
    assert errors_of([{"a": 1}, 5], pd.DataFrame)[0][0] == (1,)
    assert "expected a table" in errors_of("a,b", pd.DataFrame)[0][1]


def test_dataframe_required_columns():
    desc = {"kind": "dataframe", "columns": ["a", "b"]}
    with pytest.raises(Invalid) as info:
        coerce({"a": [1]}, desc)
    assert info.value.errors == [(("b",), "column required", "missing")]
    assert coerce([], desc).empty


# ---- unions ----


def test_union_tries_options_of_the_values_shape_first_in_order():
    # like the runtime: options whose JSON shape the value has, in declaration order, then the others laxly
    when = datetime.datetime(2024, 1, 1)
    assert fit(when, Union[str, datetime.datetime]) is when
    assert fit("2024-01-01", Union[str, datetime.datetime]) == "2024-01-01"
    assert fit("2024-01-01", Union[datetime.datetime, str]) == when
    assert fit("soon", Union[datetime.datetime, str]) == "soon"
    assert fit("2024-01-01", Union[int, datetime.date]) == datetime.date(2024, 1, 1)
    assert fit(Color.RED, Union[str, Color]) is Color.RED
    assert fit("red", Union[int, Color]) is Color.RED
    assert fit({"z": 1}, Union[Inner, dict]) == Inner(z=1.0)
    assert fit({"z": 1}, Union[dict, Inner]) == {"z": 1}
    assert fit({"q": 1}, Union[Inner, dict]) == {"q": 1}
    assert fit(5, Union[float, int]) == 5 and type(fit(5, Union[float, int])) is int
    assert type(fit([1.0], Union[list[int], np.ndarray])) is list


def test_optional_reports_the_inner_errors():
    assert errors_of({"label": 1}, Optional[Inner]) == [
        (("z",), "field required", "missing"), (("label",), "expected str, got 1", "string_type")]
    assert fit(None, Optional[Inner]) is None
