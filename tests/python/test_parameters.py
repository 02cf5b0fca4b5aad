"""Parameters under plain python: types from values or `type=`, lax set_parameter, errors."""

from typing import Literal, Optional

import pytest

from mvi import service


@pytest.fixture(autouse=True)
def fresh_service():
    service._reset()
    yield
    service._reset()


def test_add_get_and_get_parameters():
    service.add_parameter("greeting_phrase", "Hello")
    service.add_parameter("limit", 3, expose=False, monitor=True, description="max items")
    assert service.get_parameter("greeting_phrase") == "Hello"
    assert service.get_parameters() == {"greeting_phrase": "Hello", "limit": 3}


def test_get_parameters_is_a_copy():
    service.add_parameter("items", [1, 2])
    service.get_parameters()["items"].append(3)
    service.get_parameter("items").append(4)
    assert service.get_parameter("items") == [1, 2]


def test_unknown_parameter_is_key_error():
    with pytest.raises(KeyError, match="nope"):
        service.get_parameter("nope")
    with pytest.raises(KeyError, match="nope"):
        service.set_parameter("nope", 1)


def test_duplicate_parameter():
    service.add_parameter("x", 1)
    with pytest.raises(ValueError, match="parameter 'x' is already defined"):
        service.add_parameter("x", 2)


@pytest.mark.parametrize("name", ["", "has space", "a/b", 5, None, "1abc"])
def test_bad_parameter_names(name):
    with pytest.raises(ValueError, match="parameter name"):
        service.add_parameter(name, 1)


@pytest.mark.parametrize(
    "initial, new, expected",
    [
        # a numeric default without type= is "a number" (SPEC §2.1): kept as sent, text read as an int or a float
        (5, "7", 7), (5, 2.0, 2.0), (5, 0.5, 0.5), (1.5, 2, 2), (1.5, "2.25", 2.25), (5, "2.0", 2.0), (5, True, 1),
        (True, "false", False), (False, "on", True), (True, 0, False), (False, "1", True), (True, "no", False),
        ("a", "b", "b"), ([1], [2, 3], [2, 3]), ({"a": 1}, {"b": None}, {"b": None}), (None, [1, "x"], [1, "x"]),
    ],
)
def test_set_parameter_lax_coercion(initial, new, expected):
    service.add_parameter("p", initial)
    assert service.set_parameter("p", new) is None
    value = service.get_parameter("p")
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("initial, bad", [(5, "five"), (1.5, "x"), (True, "maybe"), ("a", 5), (5, None), (5, [1])])
def test_set_parameter_wrong_type_keeps_value(initial, bad):
    service.add_parameter("p", initial)
    with pytest.raises(ValueError, match="parameter 'p'"):
        service.set_parameter("p", bad)
    assert service.get_parameter("p") == initial


@pytest.mark.parametrize("declared, new, expected", [(int, 2.0, 2), (float, 2, 2.0)])
def test_an_explicit_numeric_type_stays_strict(declared, new, expected):
    service.add_parameter("p", 5, type=declared)
    service.set_parameter("p", new)
    value = service.get_parameter("p")
    assert value == expected and type(value) is declared
    if declared is int:
        with pytest.raises(ValueError, match="parameter 'p'"):
            service.set_parameter("p", 0.5)


def test_bool_parameter_is_not_int():
    service.add_parameter("flag", True)
    service.set_parameter("flag", 1)
    assert service.get_parameter("flag") is True
    with pytest.raises(ValueError):
        service.set_parameter("flag", 5)


def test_explicit_type():
    service.add_parameter("level", 1, type=Optional[int])
    service.set_parameter("level", None)
    assert service.get_parameter("level") is None
    service.set_parameter("level", "4")
    assert service.get_parameter("level") == 4

    service.add_parameter("mode", "fast", type=Literal["fast", "slow"])
    with pytest.raises(ValueError, match="parameter 'mode'"):
        service.set_parameter("mode", "medium")

    service.add_parameter("ratio", 1, type=float)
    assert service.get_parameter("ratio") == 1.0 and type(service.get_parameter("ratio")) is float


def test_initial_value_must_fit_explicit_type():
    with pytest.raises(ValueError, match="parameter 'n': the initial value does not fit"):
        service.add_parameter("n", "abc", type=int)


def test_unsupported_parameter_type():
    with pytest.raises(TypeError, match="parameter 'obj': unsupported type annotation"):
        service.add_parameter("obj", object.__new__(type("Thing", (), {})))
    with pytest.raises(ValueError, match="parameter 'd'"):
        service.add_parameter("d", {1: "a"})


def test_expose_false_is_still_settable_from_python():
    service.add_parameter("secret", "a", expose=False)
    service.set_parameter("secret", "b")
    assert service.get_parameter("secret") == "b"
