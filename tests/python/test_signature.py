"""Annotation -> type description, string annotations, unsupported kinds, and the local lax coercer."""

import enum
import inspect
import typing
from typing import Annotated, Any, Dict, List, Literal, Optional, Tuple, Union

import pytest

from mvi import _signature
from mvi._signature import Invalid, UnsupportedType, coerce, describe

INT, STR, FLOAT, BOOL, NONE, ANY = ({"kind": k} for k in ("int", "str", "float", "bool", "none", "any"))


@pytest.mark.parametrize(
    "annotation, expected",
    [
        (str, STR), (int, INT), (float, FLOAT), (bool, BOOL), (None, NONE), (type(None), NONE),
        (Any, ANY), (object, ANY), (inspect.Parameter.empty, ANY),
        (list, {"kind": "list", "items": ANY}), (List, {"kind": "list", "items": ANY}),
        (dict, {"kind": "dict", "values": ANY}), (Dict, {"kind": "dict", "values": ANY}),
        (list[int], {"kind": "list", "items": INT}), (List[str], {"kind": "list", "items": STR}),
        (dict[str, float], {"kind": "dict", "values": FLOAT}), (Dict[str, Any], {"kind": "dict", "values": ANY}),
        (tuple[int, str], {"kind": "tuple", "items": [INT, STR]}),
        (Tuple[int, ...], {"kind": "list", "items": INT, "container": "tuple"}),
        (tuple, {"kind": "list", "items": ANY, "container": "tuple"}),
        (Optional[int], {"kind": "union", "options": [INT, NONE]}),
        (int | None, {"kind": "union", "options": [INT, NONE]}),
        (Union[int, str, None], {"kind": "union", "options": [INT, STR, NONE]}),
        (Union[int, Any], ANY),
        (Literal["a", 1, True], {"kind": "literal", "values": ["a", 1, True]}),
        (Annotated[int, "meta"], INT),
        (list[dict[str, Optional[tuple[int, float]]]],
         {"kind": "list", "items": {"kind": "dict", "values": {
             "kind": "union", "options": [{"kind": "tuple", "items": [INT, FLOAT]}, NONE]}}}),
    ],
)
def test_describe(annotation, expected):
    assert describe(annotation) == expected


class Color(enum.Enum):
    RED = 1


@pytest.mark.parametrize("annotation", [complex, [int], "int", typing.Callable, list[complex], bytearray, type])
def test_describe_unsupported(annotation):
    with pytest.raises(UnsupportedType):
        describe(annotation)


def test_describe_dict_keys_must_be_str():
    with pytest.raises(UnsupportedType, match="dict keys must be str"):
        describe(dict[int, str])


def test_literal_values_must_be_json_scalars():
    with pytest.raises(UnsupportedType, match="Literal values"):
        describe(Literal[1.5])


def test_analyse_nested_unsupported_names_the_part():
    def f(x: list[dict[int, str]]):
        pass

    with pytest.raises(TypeError) as info:
        _signature.analyse(f, "entrypoint 'f'")
    assert str(info.value) == (
        "entrypoint 'f': parameter 'x' has unsupported type annotation list[dict[int, str]] "
        "(dict[int, str]: dict keys must be str)"
    )


def test_string_annotations_are_resolved():
    namespace = {}
    exec(
        "from __future__ import annotations\n"
        "from typing import Optional\n"
        "def f(a: int, b: Optional[list[str]] = None) -> dict[str, int]:\n"
        "    pass\n",
        namespace,
    )
    params, returns = _signature.analyse(namespace["f"], "entrypoint 'f'")
    assert params[0] == {"name": "a", "type": INT, "required": True}
    assert params[1]["type"] == {"kind": "union", "options": [{"kind": "list", "items": STR}, NONE]}
    assert returns == {"kind": "dict", "values": INT}


def test_unresolvable_string_annotation_names_the_parameter():
    namespace = {}
    exec("def f(a: int, b: 'Missing'):\n    pass\n", namespace)
    with pytest.raises(TypeError, match="entrypoint 'f': cannot resolve parameter 'b' annotation 'Missing'"):
        _signature.analyse(namespace["f"], "entrypoint 'f'")


def test_unannotated_parameters_are_any():
    def f(a, b=3):
        pass

    params, returns = _signature.analyse(f, "entrypoint 'f'")
    assert params == [{"name": "a", "type": ANY, "required": True},
                      {"name": "b", "type": ANY, "required": False, "default": 3}]
    assert returns == ANY


# The JSON rules of the coercer (int from "5", bool from "off", unions, literals, ...) are the shared cases of
# tests/cases/coercion.json, run by test_coercion_cases.py; these are the Python-only inputs.


@pytest.mark.parametrize(
    "value, desc, expected",
    [
        (("1", 2.0), {"kind": "list", "items": INT}, [1, 2]),
        (["1", "x"], {"kind": "tuple", "items": [INT, STR]}, (1, "x")),
        ((1, "x"), {"kind": "tuple", "items": [INT, STR]}, (1, "x")),
        ({"a": (1,)}, ANY, {"a": (1,)}),
    ],
)
def test_coerce_accepts(value, desc, expected):
    result = coerce(value, desc)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    "value, desc, error",
    [
        (b"x", STR, "string_type"), (float("inf"), INT, "finite_number"), (float("nan"), INT, "finite_number"),
        (10**400, FLOAT, "float_type"), (object(), BOOL, "bool_type"),
        ({1: "a"}, {"kind": "dict", "values": ANY}, "dict_type"),
        ([1.5], {"kind": "union", "options": [INT, NONE]}, "int_type"),
    ],
)
def test_coerce_rejects(value, desc, error):
    with pytest.raises(ValueError) as info:
        coerce(value, desc)
    assert info.value.type == error


def test_coerce_error_has_location():
    with pytest.raises(Invalid) as info:
        coerce({"a": [1, "x"]}, {"kind": "dict", "values": {"kind": "list", "items": INT}})
    assert info.value.loc == ("a", 1)
    assert str(info.value) == "at ['a'][1]: expected int, got 'x'"
