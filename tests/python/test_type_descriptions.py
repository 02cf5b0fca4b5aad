"""Descriptions of the richer kinds (docs/dev/type-descriptions.md): bytes, dates, UUIDs, containers, Enums,
dataclasses, TypedDicts, pydantic models (v1 for real, v2 through a stand-in), ndarrays, DataFrames; the export's
"classes" list and `ref`s; recursive and unsupported types."""

import dataclasses
import datetime
import enum
import sys
import types
import typing
import uuid
from typing import Annotated, FrozenSet, List, Literal, NotRequired, Optional, Required, Set, TypedDict, Union

import pytest

# numpy, pandas and pydantic are optional for mvi but needed here
import numpy as np
import pandas as pd
import pydantic  # noqa: F401  (installed by scripts/setup.sh: the suite needs it)
try:
    import pydantic.v1 as pydantic  # the v1 API, which pydantic 2 still ships
except ImportError:
    import pydantic
import numpy.typing as npt

from mvi import service
from mvi._signature import Context, UnsupportedType, analyse, describe, describe_json
from mvi.types import NDArray

INT, STR, FLOAT, BOOL, NONE, ANY = ({"kind": k} for k in ("int", "str", "float", "bool", "none", "any"))


@pytest.fixture(autouse=True)
def fresh_service():
    service._reset()
    yield
    service._reset()


# ---- scalars and containers ----


@pytest.mark.parametrize(
    "annotation, expected",
    [
        (bytes, {"kind": "bytes"}),
        (datetime.datetime, {"kind": "datetime"}),
        (datetime.date, {"kind": "date"}),
        (datetime.time, {"kind": "time"}),
        (uuid.UUID, {"kind": "uuid"}),
        (tuple[int, ...], {"kind": "list", "items": INT, "container": "tuple"}),
        (typing.Tuple[str, ...], {"kind": "list", "items": STR, "container": "tuple"}),
        (tuple, {"kind": "list", "items": ANY, "container": "tuple"}),
        (set[int], {"kind": "list", "items": INT, "container": "set"}),
        (Set[str], {"kind": "list", "items": STR, "container": "set"}),
        (set, {"kind": "list", "items": ANY, "container": "set"}),
        (frozenset[float], {"kind": "list", "items": FLOAT, "container": "frozenset"}),
        (FrozenSet[int], {"kind": "list", "items": INT, "container": "frozenset"}),
        (frozenset, {"kind": "list", "items": ANY, "container": "frozenset"}),
        (set[tuple[int, str]], {"kind": "list", "items": {"kind": "tuple", "items": [INT, STR]}, "container": "set"}),
        (set[tuple[int, ...]],
         {"kind": "list", "items": {"kind": "list", "items": INT, "container": "tuple"}, "container": "set"}),
        (list[int], {"kind": "list", "items": INT}),  # "list" is the default container and not written
        (Optional[datetime.datetime], {"kind": "union", "options": [{"kind": "datetime"}, NONE]}),
        (dict[str, uuid.UUID], {"kind": "dict", "values": {"kind": "uuid"}}),
    ],
)
def test_describe_scalars_and_containers(annotation, expected):
    assert describe(annotation) == expected


@pytest.mark.parametrize("annotation", [set[list[int]], set[dict[str, int]], frozenset[set[int]], set[np.ndarray]])
def test_set_items_must_be_hashable(annotation):
    with pytest.raises(UnsupportedType, match="items must be hashable"):
        describe(annotation)


# ---- Enums ----


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    CRIMSON = "red"  # an alias: not a separate value


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(enum.StrEnum):
    FAST = "fast"
    SLOW = "slow"


class Mixed(enum.Enum):
    A = 1.5
    B = True
    C = "c"


def test_describe_enums():
    ctx = Context()
    assert describe(Color, ctx) == {"kind": "enum", "name": "Color", "ref": 0, "values": ["red", "green"]}
    assert describe(Level, ctx) == {"kind": "enum", "name": "Level", "ref": 1, "values": [1, 2]}
    assert describe(Mode, ctx) == {"kind": "enum", "name": "Mode", "ref": 2, "values": ["fast", "slow"]}
    assert describe(Mixed, ctx) == {"kind": "enum", "name": "Mixed", "ref": 3, "values": [1.5, True, "c"]}
    assert describe(Color, ctx)["ref"] == 0  # the same class keeps its index
    assert ctx.classes == [Color, Level, Mode, Mixed]
    assert type(describe(Level)["values"][0]) is int  # plain values, not members


class TupleValued(enum.Enum):
    A = (1, 2)


class Empty(enum.Enum):
    pass


class NanValued(enum.Enum):
    A = float("nan")


@pytest.mark.parametrize("annotation, fragment", [
    (TupleValued, "member values must be str, int, float or bool, not A = (1, 2)"),
    (Empty, "needs at least one member"),
    (NanValued, "member values"),
])
def test_bad_enums(annotation, fragment):
    with pytest.raises(UnsupportedType, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        describe(annotation)


# ---- dataclasses ----


@dataclasses.dataclass
class Inner:
    """Where it is."""

    z: float
    label: Optional[str] = None


@dataclasses.dataclass
class Outer:
    x: int
    inner: Optional[Inner]
    tags: list[str] = dataclasses.field(default_factory=list)
    y: int = 0
    computed: int = dataclasses.field(default=0, init=False)
    limit: typing.ClassVar[int] = 3


INNER = {"kind": "object", "name": "Inner", "ref": 1, "construct": "dataclass", "description": "Where it is.",
         "fields": [{"name": "z", "type": FLOAT, "required": True},
                    {"name": "label", "type": {"kind": "union", "options": [STR, NONE]}, "required": False,
                     "default": None}]}
OUTER = {"kind": "object", "name": "Outer", "ref": 0, "construct": "dataclass", "fields": [
    {"name": "x", "type": INT, "required": True},
    {"name": "inner", "type": {"kind": "union", "options": [INNER, NONE]}, "required": True},
    {"name": "tags", "type": {"kind": "list", "items": STR}, "required": False},  # a default_factory: no default
    {"name": "y", "type": INT, "required": False, "default": 0},
]}


def test_describe_dataclass_nested_optional_defaults():
    ctx = Context()
    assert describe(Outer, ctx) == OUTER  # no "description": the docstring @dataclass generates is not one
    assert ctx.classes == [Outer, Inner]
    assert describe(list[Inner], ctx) == {"kind": "list", "items": INNER}
    assert ctx.classes == [Outer, Inner]


def test_description_is_a_fresh_copy_each_time():
    ctx = Context()
    first = describe(Outer, ctx)
    first["fields"].clear()
    assert describe(Outer, ctx) == OUTER


@dataclasses.dataclass
class WithStringAnnotations:
    when: "datetime.date"
    ids: "list[uuid.UUID]"


def test_dataclass_string_annotations():
    assert describe(WithStringAnnotations)["fields"] == [
        {"name": "when", "type": {"kind": "date"}, "required": True},
        {"name": "ids", "type": {"kind": "list", "items": {"kind": "uuid"}}, "required": True},
    ]


# ---- TypedDict ----


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class Partial(TypedDict, total=False):
    name: Required[str]
    score: float


def test_describe_typeddicts():
    ctx = Context()
    assert describe(Movie, ctx) == {"kind": "object", "name": "Movie", "ref": 0, "construct": "typeddict", "fields": [
        {"name": "title", "type": STR, "required": True},
        {"name": "year", "type": INT, "required": False},
    ]}
    assert describe(Partial, ctx)["fields"] == [
        {"name": "name", "type": STR, "required": True},
        {"name": "score", "type": FLOAT, "required": False},
    ]
    assert ctx.classes == [Movie, Partial]


def test_typeddict_qualifiers_in_string_annotations(monkeypatch):
    # with `from __future__ import annotations` Python 3.11 cannot see Required/NotRequired in __required_keys__
    module = types.ModuleType("typeddict_future_mod")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec("from __future__ import annotations\n"
         "from typing import TypedDict, Required, NotRequired\n"
         "class T(TypedDict, total=False):\n"
         "    a: Required[int]\n"
         "    b: NotRequired[str]\n"
         "    c: str\n", module.__dict__)
    assert [(f["name"], f["type"], f["required"]) for f in describe(module.T)["fields"]] == [
        ("a", INT, True), ("b", STR, False), ("c", STR, False)]


# ---- pydantic v1 (installed) ----


class Address(pydantic.BaseModel):
    city: str


class User(pydantic.BaseModel):
    """A user."""

    user_name: str = pydantic.Field(alias="userName")
    age: Optional[int]
    score: float = None
    color: Color = Color.RED
    address: Address
    nick: pydantic.constr(max_length=3) = "x"
    extra: dict[int, str] = {}


def test_describe_pydantic_v1_model():
    ctx = Context()
    desc = describe(User, ctx)
    assert desc == {"kind": "object", "name": "User", "ref": 0, "construct": "pydantic", "description": "A user.",
                    "fields": [
        {"name": "userName", "type": STR, "required": True},
        {"name": "age", "type": {"kind": "union", "options": [INT, NONE]}, "required": False, "default": None},
        {"name": "score", "type": {"kind": "union", "options": [FLOAT, NONE]}, "required": False,
         "default": None},  # `= None`
        {"name": "color", "type": {"kind": "enum", "name": "Color", "ref": 1, "values": ["red", "green"]},
         "required": False, "default": "red"},
        {"name": "address", "type": {"kind": "object", "name": "Address", "ref": 2, "construct": "pydantic",
                                     "fields": [{"name": "city", "type": STR, "required": True}]},
         "required": True},
        # types mvi cannot describe are left to pydantic, which validates them when the model is built
        {"name": "nick", "type": ANY, "required": False, "default": "x"},
        {"name": "extra", "type": ANY, "required": False, "default": {}},
    ]}
    assert ctx.classes == [User, Color, Address]


class Tree(pydantic.BaseModel):
    children: List["Tree"] = []


Tree.update_forward_refs()


def test_recursive_pydantic_model_is_an_error_not_any():
    with pytest.raises(UnsupportedType, match=r"recursive type Tree.children -> Tree is not supported"):
        describe(Tree)


# ---- pydantic v2 (not installed): the same code path through a stand-in with v2's interface ----


class _V2Field:
    def __init__(self, annotation, alias=None, required=True):
        self.annotation, self.alias, self._required = annotation, alias, required

    def is_required(self):
        return self._required


class FakeV2Model:
    """A v2-style model."""

    model_fields = {"item_id": _V2Field(int, alias="itemId"), "tags": _V2Field(Optional[list[str]], required=False)}

    @classmethod
    def model_validate(cls, data):
        return cls(**data)

    def __init__(self, **data):
        self.data = data


def test_describe_pydantic_v2_by_feature_detection():
    assert "pydantic" in sys.modules
    assert describe(FakeV2Model) == {
        "kind": "object", "name": "FakeV2Model", "ref": 0, "construct": "pydantic", "description": "A v2-style model.",
        "fields": [{"name": "itemId", "type": INT, "required": True},
                   {"name": "tags", "type": {"kind": "union", "options": [{"kind": "list", "items": STR}, NONE]},
                    "required": False}]}


# ---- numpy and pandas ----

ND = {"kind": "ndarray", "dtype": None, "shape": None}


@pytest.mark.parametrize(
    "annotation, expected",
    [
        (np.ndarray, ND),
        (Annotated[np.ndarray, NDArray(dtype="float32", shape=(None, 3))],
         {"kind": "ndarray", "dtype": "float32", "shape": [None, 3]}),
        (Annotated[np.ndarray, NDArray(dtype=np.int64)], {"kind": "ndarray", "dtype": "int64", "shape": None}),
        (Annotated[np.ndarray, NDArray(dtype=float)], {"kind": "ndarray", "dtype": "float64", "shape": None}),
        (Annotated[np.ndarray, NDArray(dtype=bool, shape=[2])], {"kind": "ndarray", "dtype": "bool", "shape": [2]}),
        (Annotated[np.ndarray, NDArray(shape=())], {"kind": "ndarray", "dtype": None, "shape": []}),
        (Annotated[np.ndarray, "other metadata", NDArray("uint8")],
         {"kind": "ndarray", "dtype": "uint8", "shape": None}),
        (npt.NDArray[np.float64], {"kind": "ndarray", "dtype": "float64", "shape": None}),
        (npt.NDArray[np.int32], {"kind": "ndarray", "dtype": "int32", "shape": None}),
        (npt.NDArray, ND),
        (npt.NDArray[np.floating], ND),  # abstract scalar type: dtype left open
        (Optional[np.ndarray], {"kind": "union", "options": [ND, NONE]}),
        (pd.DataFrame, {"kind": "dataframe", "columns": None}),
        (Optional[pd.DataFrame], {"kind": "union", "options": [{"kind": "dataframe", "columns": None}, NONE]}),
    ],
)
def test_describe_numpy_and_pandas(annotation, expected):
    assert describe(annotation) == expected


def test_daeploy_types_describe_as_ndarray_and_dataframe():
    from mvi.types import ArrayInput, ArrayOutput, DataFrameInput, DataFrameOutput

    assert describe(ArrayInput) == describe(ArrayOutput) == dict(ND, elements="any")  # any JSON array, as Daeploy
    assert describe(DataFrameInput) == describe(DataFrameOutput) == {"kind": "dataframe", "columns": None}
    assert issubclass(ArrayInput, np.ndarray) and issubclass(DataFrameOutput, pd.DataFrame)
    assert ArrayInput.__module__ == "mvi.types" and ArrayInput.__qualname__ == "ArrayInput"


@pytest.mark.parametrize("annotation, fragment", [
    (Annotated[np.ndarray, NDArray(dtype="complex128")], "dtype complex128 is not supported"),
    (Annotated[np.ndarray, NDArray(dtype="U5")], "is not supported"),
    (Annotated[np.ndarray, NDArray(dtype="no-such-type")], "unknown numpy dtype"),
    (Annotated[list[int], NDArray(dtype="int32")], r"NDArray\(...\) applies to numpy.ndarray annotations only"),
    (npt.NDArray[np.complex64], "dtype complex64 is not supported"),
])
def test_bad_ndarray_annotations(annotation, fragment):
    with pytest.raises(UnsupportedType, match=fragment):
        describe(annotation)


@pytest.mark.parametrize("shape, error", [(3, TypeError), ("ab", TypeError), ((-1,), ValueError), ((1.5,), ValueError)])
def test_ndarray_marker_checks_its_shape(shape, error):
    with pytest.raises(error, match="NDArray"):
        NDArray(shape=shape)


def test_ndarray_marker_is_a_small_value():
    marker = NDArray(dtype="float32", shape=[None, 3])
    assert marker.shape == (None, 3) and marker == NDArray("float32", (None, 3)) and hash(marker)
    assert repr(marker) == "NDArray(dtype='float32', shape=(None, 3))"
    with pytest.raises(AttributeError):
        marker.dtype = "int8"


# ---- the export: classes and refs across entrypoints ----


def test_export_classes_and_refs_are_service_wide():
    @service.entrypoint
    def first(o: Outer, c: Color = Color.RED) -> Level:
        pass

    @service.entrypoint
    def second(inner: Inner, user: User) -> list[Color]:
        pass

    export = service._export()
    assert export["classes"] == [Outer, Inner, Color, Level, User, Address]
    one, two = export["entrypoints"]
    assert one["params"][0]["type"] == OUTER
    assert one["params"][1]["type"]["ref"] == 2 and one["returns"]["ref"] == 3
    assert two["params"][0]["type"] == INNER  # ref 1, as in the first entrypoint
    assert two["params"][1]["type"]["ref"] == 4
    assert two["params"][1]["type"]["fields"][3]["type"]["ref"] == 2  # User.color is the same Color
    assert two["returns"] == {"kind": "list", "items": {"kind": "enum", "name": "Color", "ref": 2,
                                                       "values": ["red", "green"]}}


def test_failed_registration_leaves_no_classes_behind():
    @dataclasses.dataclass
    class Bad:
        n: complex

    def broken(level: Level, bad: Bad):
        pass

    with pytest.raises(TypeError):
        service.entrypoint(broken)
    assert service._export()["classes"] == []
    assert service._export()["entrypoints"] == []


def test_analyse_collects_classes_in_its_context():
    def f(a: Level, b: Optional[Inner] = None) -> Movie:
        pass

    ctx = Context([Inner])
    params, returns = analyse(f, "entrypoint 'f'", ctx)
    assert ctx.classes == [Inner, Level, Movie]
    assert params[0]["type"]["ref"] == 1 and params[1]["type"]["options"][0]["ref"] == 0 and returns["ref"] == 2


# ---- recursive and unsupported classes ----


@dataclasses.dataclass
class Node:
    value: int
    next: Optional["Node"] = None


@dataclasses.dataclass
class Ping:
    pong: "Pong"


@dataclasses.dataclass
class Pong:
    pings: list[Ping]


def test_recursive_dataclass_names_function_and_parameter():
    def walk(node: Node):
        pass

    with pytest.raises(TypeError) as info:
        service.entrypoint(walk)
    assert str(info.value) == (
        f"entrypoint 'walk': parameter 'node' has unsupported type annotation {__name__}.Node "
        "(recursive type Node.next -> Node is not supported)")


def test_mutually_recursive_dataclasses():
    def play(x: int, games: list[Ping]):
        pass

    with pytest.raises(TypeError) as info:
        service.entrypoint(play)
    assert str(info.value) == (
        "entrypoint 'play': parameter 'games' has unsupported type annotation "
        f"list[{__name__}.Ping] ({__name__}.Ping: recursive type Ping.pong -> Pong.pings -> Ping is not supported)")


def test_the_same_class_twice_is_not_recursion():
    @dataclasses.dataclass
    class Segment:
        start: Inner
        end: Inner

    desc = describe(Segment)
    assert desc["fields"][0]["type"] == desc["fields"][1]["type"] == dict(INNER, ref=1)


@dataclasses.dataclass
class HasUnsupported:
    ok: int
    inner: "Deeper"


@dataclasses.dataclass
class Deeper:
    value: complex


def test_unsupported_field_names_the_field():
    def f(h: HasUnsupported):
        pass

    with pytest.raises(TypeError) as info:
        service.entrypoint(f)
    assert str(info.value) == (
        f"entrypoint 'f': parameter 'h' has unsupported type annotation {__name__}.HasUnsupported "
        "(field HasUnsupported.inner -> Deeper.value: complex is not supported)")


def test_unresolvable_field_annotation():
    @dataclasses.dataclass
    class Broken:
        x: "Missing"  # noqa: F821

    with pytest.raises(UnsupportedType, match="cannot resolve its annotations"):
        describe(Broken)


class Plain:
    pass


@pytest.mark.parametrize("annotation", [Plain, complex, typing.Callable[[int], int], typing.Iterable[int]])
def test_still_unsupported(annotation):
    with pytest.raises(UnsupportedType):
        describe(annotation)


# ---- parameters stay JSON ----


@pytest.mark.parametrize("annotation, expected", [
    (tuple, {"kind": "list", "items": ANY}),
    (tuple[int, ...], {"kind": "list", "items": INT}),
    (Optional[list[tuple[int, ...]]],
     {"kind": "union", "options": [{"kind": "list", "items": {"kind": "list", "items": INT}}, NONE]}),
    (Literal["a", "b"], {"kind": "literal", "values": ["a", "b"]}),
    (Union[int, dict[str, tuple[int, str]]],
     {"kind": "union", "options": [INT, {"kind": "dict", "values": {"kind": "tuple", "items": [INT, STR]}}]}),
])
def test_describe_json(annotation, expected):
    assert describe_json(annotation) == expected


@pytest.mark.parametrize("annotation", [set[int], datetime.datetime, Color, Inner, list[bytes], np.ndarray,
                                        Optional[uuid.UUID]])
def test_describe_json_rejects_non_json_kinds(annotation):
    with pytest.raises(UnsupportedType):
        describe_json(annotation)


@pytest.mark.parametrize("value", [{1, 2}, datetime.datetime(2024, 1, 1), Color.RED, b"x", np.zeros(2)])
def test_parameters_of_non_json_types_are_refused(value):
    with pytest.raises(TypeError, match="parameters hold JSON values"):
        service.add_parameter("p", value)


def test_tuple_parameter_is_stored_as_a_list():
    service.add_parameter("pair", (1, 2))
    assert service.get_parameter("pair") == [1, 2]
