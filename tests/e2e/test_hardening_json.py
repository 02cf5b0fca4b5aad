"""Hostile JSON bodies (SPEC §8): nesting far beyond the depth limit, numbers that overflow, invalid UTF-8, lone
surrogates, integers beyond 64 bits, NaN and Infinity. Each is answered (400 or 422) and the process survives.
What these tests pin down is documented in docs/operations.md ("JSON bodies").
"""

import json
from pathlib import Path

import pytest

from rawhttp import assert_serving, exchange, post_json

SERVICE = Path(__file__).resolve().parent / "services" / "hardening_basic" / "service.py"


@pytest.fixture(scope="module")
def svc(module_launcher):
    service = module_launcher.start(SERVICE, "--drain-delay", "0")
    service.pid_at_start = service.proc.pid
    return service


def call(svc, path, raw_body):
    responses, _ = exchange(svc.port, post_json(path, raw_body, [("Connection", "close")]), timeout=10)
    assert len(responses) == 1, responses
    return responses[0]


def expect_json_invalid(svc, raw_body, reason_part):
    """Not JSON at all: FastAPI's 422 with one json_invalid item whose ctx.error says why (SPEC §5)."""
    resp = call(svc, "/anything", raw_body)
    assert resp.status == 422, f"{raw_body[:60]!r}: {resp!r}"
    (item,) = resp.json["detail"]
    assert item["type"] == "json_invalid" and item["loc"][0] == "body" and isinstance(item["loc"][1], int), item
    assert item["msg"] == "JSON decode error", item
    assert reason_part in item["ctx"]["error"], f"{raw_body[:60]!r}: {item!r}"
    assert_serving(svc, svc.pid_at_start)
    return item["ctx"]["error"]


def expect_400(svc, raw_body, detail_part):
    resp = call(svc, "/anything", raw_body)
    assert resp.status == 400, f"{raw_body[:60]!r}: {resp!r}"
    detail = resp.json["detail"]
    assert detail_part in detail, f"{raw_body[:60]!r}: detail {detail!r}"
    assert_serving(svc, svc.pid_at_start)
    return detail


# ----------------------------------------------------------------------------------------------------------------
# Depth


def test_100000_nested_arrays_are_400_and_the_process_survives(svc):
    body = b"[" * 100_000 + b"]" * 100_000  # 200 KB
    expect_400(svc, body, "JSON nesting deeper than 64 levels")


def test_100000_nested_objects_are_400(svc):
    body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    expect_400(svc, body, "JSON nesting deeper than 64 levels")


def test_unterminated_deep_nesting_is_400(svc):
    expect_400(svc, b"[" * 200_000, "JSON nesting deeper than 64 levels")


def test_depth_64_is_accepted_and_65_is_not(svc):
    # {"value": ...} is level 1; 63 arrays inside make 64 levels.
    ok = call(svc, "/anything", b'{"value":' + b"[" * 63 + b"]" * 63 + b"}")
    assert ok.status == 200 and ok.body == b"[" * 63 + b"]" * 63, ok
    expect_400(svc, b'{"value":' + b"[" * 64 + b"]" * 64 + b"}", "JSON nesting deeper than 64 levels")


# ----------------------------------------------------------------------------------------------------------------
# Numbers, strings


def test_number_overflow_is_json_invalid(svc):
    expect_json_invalid(svc, b'{"value": 1e999999}', "number overflow")


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf"])
def test_nan_and_infinity_literals_are_invalid_json(svc, literal):
    expect_json_invalid(svc, b'{"value": ' + literal + b"}", "syntax error")


@pytest.mark.parametrize(
    "raw",
    [b'{"value": "\xff"}', b'{"value": "\xc0\xaf"}', b'{"value": "\xed\xa0\x80"}', b'{"value": "\xf4\x90\x80\x80"}'],
    ids=["ff", "overlong-slash", "encoded-surrogate", "above-10ffff"],
)
def test_invalid_utf8_is_json_invalid(svc, raw):
    expect_json_invalid(svc, raw, "UTF-8")


@pytest.mark.parametrize("escape", [b"\\ud800", b"\\udc00", b"\\ud800\\u0041", b"\\udbff\\udbff"])
def test_lone_surrogate_escapes_are_json_invalid(svc, escape):
    expect_json_invalid(svc, b'{"value": "' + escape + b'"}', "surrogate")


def test_a_surrogate_pair_is_fine(svc):
    resp = call(svc, "/anything", b'{"value": "\\ud83d\\ude00"}')
    assert resp.status == 200 and resp.json == "\U0001F600", resp


def test_trailing_garbage_is_json_invalid(svc):
    expect_json_invalid(svc, b'{"value": 1} x', "syntax error")


# ----------------------------------------------------------------------------------------------------------------
# Integers beyond 64 bits for an `int` parameter


def test_2_to_the_70_for_an_int_is_422_int_parsing_size(svc):
    for raw in (b'{"n": 1180591620717411303424}', b'{"n": "1180591620717411303424"}', b'{"n": 1e30}'):
        resp = call(svc, "/echo", raw)
        assert resp.status == 422, f"{raw!r}: {resp!r}"
        (error,) = resp.json["detail"]
        assert error["type"] == "int_parsing_size" and error["loc"] == ["body", "n"], error


@pytest.mark.parametrize(
    "value",
    [2**63 - 1, 2**63, 2**64 - 1, -(2**63)],
    ids=["int64-max", "2^63", "uint64-max", "int64-min"],
)
def test_64_bit_integers_arrive_exactly(svc, value):
    resp = call(svc, "/echo", b'{"n": ' + str(value).encode() + b"}")
    assert resp.status == 200 and resp.json["n"] == value, resp


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, -(2**63) - 1000], ids=["2^64", "int64-min-minus-1", "int64-min-minus-1000"])
def test_integers_outside_64_bits_are_422_never_changed(svc, value):
    # Either the exact value reaches the function, or 422: never a different number.
    resp = call(svc, "/echo", b'{"n": ' + str(value).encode() + b"}")
    if resp.status == 200:
        assert resp.json["n"] == value, f"sent {value}, the function received {resp.json['n']}"
    else:
        assert resp.status == 422, resp
        assert resp.json["detail"][0]["type"] == "int_parsing_size", resp


def test_float_with_fraction_for_an_int_is_422(svc):
    resp = call(svc, "/echo", b'{"n": 1.5}')
    assert resp.status == 422 and resp.json["detail"][0]["type"] == "int_from_float", resp


# ----------------------------------------------------------------------------------------------------------------
# NaN and Infinity in results


def test_a_function_returning_nan_answers_null(svc):
    resp = call(svc, "/not_a_number", b"{}")
    assert resp.status == 200 and resp.body == b"null", resp


def test_infinities_in_a_result_answer_null(svc):
    resp = call(svc, "/infinities", b"{}")
    assert resp.status == 200 and resp.body == b"[null,null,1.5]", resp
    json.loads(resp.body)  # strict JSON: no NaN / Infinity tokens
