"""Typed validation over HTTP (§5, docs/dev/type-descriptions.md): a table of valid and invalid inputs per type kind,
sent to tests/e2e/services/types/service.py, checking the status, the value the function received (each entrypoint
echoes the Python type it got), or the 422 errors' `type` and `loc`.

Table rows: (request, expected status, expected). For a 200, `expected` is the exact JSON answer. For a 422 it is
the exact list of errors, in order, as (type, loc) or (type, loc, input); a type may be a tuple of accepted names
(pydantic v1 and v2 spell their own errors differently).
"""

import json
from urllib.parse import urlencode

import pytest

SERVICE = "tests/e2e/services/types/service.py"

_NO_INPUT = object()


@pytest.fixture(scope="module")
def types_service(module_launcher):
    return module_launcher.start(SERVICE)


def post(entrypoint, body):
    return ("POST", f"/{entrypoint}", body)


def get(entrypoint, query=None):
    if isinstance(query, str):
        return ("GET", f"/{entrypoint}?{query}", None)
    return ("GET", f"/{entrypoint}" + (f"?{urlencode(query, doseq=True)}" if query else ""), None)


def echo(type_name, value):
    return {"type": type_name, "value": value}


def err(type_, loc, input_=_NO_INPUT):
    return (type_, loc, input_)


def case(id_, request, status, expected):
    return pytest.param(request, status, expected, id=id_)


DT = "2024-05-01T00:00:00Z"
WIN = {"start": DT, "end": "2024-05-01T01:00:00Z", "origin": {"x": 1, "y": 2}}
WIN_ECHO = {"type": "Window", "start": ["datetime", "2024-05-01T00:00:00+00:00"],
            "end": ["datetime", "2024-05-01T01:00:00+00:00"], "origin": ["Point", 1.0, 2.0], "label": None,
            "repeat": 1, "tags": [], "seconds": 3600.0}
NOT_GT = ("value_error.number.not_gt", "greater_than")  # pydantic v1, v2
FRAME_AB = {"type": "DataFrame", "columns": ["a", "b"], "index": ["0", "1"],
            "records": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}

CASES = [
    # ---- str ----
    case("str-ok", post("echo_str", {"x": "hi"}), 200, echo("str", "hi")),
    case("str-unicode", post("echo_str", {"x": "été ✓"}), 200, echo("str", "été ✓")),
    case("str-rejects-int", post("echo_str", {"x": 5}), 422, [err("string_type", ["body", "x"], 5)]),
    # A null for an argument whose type refuses None is as if not sent (Daeploy's rule, issue 15).
    case("str-null-is-missing", post("echo_str", {"x": None}), 422, [err("missing", ["body", "x"], None)]),
    case("str-rejects-bool", post("echo_str", {"x": True}), 422, [err("string_type", ["body", "x"], True)]),
    case("str-missing", post("echo_str", {}), 422, [err("missing", ["body", "x"], None)]),
    case("body-not-object", post("echo_str", ["hi"]), 422, [err("dict_type", ["body"], ["hi"])]),
    case("unknown-field-ignored", post("echo_str", {"x": "a", "zzz": 1}), 200, echo("str", "a")),
    # ---- int ----
    case("int-ok", post("echo_int", {"x": 5}), 200, echo("int", 5)),
    case("int-from-str", post("echo_int", {"x": "5"}), 200, echo("int", 5)),
    case("int-from-str-spaces-sign", post("echo_int", {"x": " -3 "}), 200, echo("int", -3)),
    case("int-from-str-dot-zero", post("echo_int", {"x": "5.0"}), 200, echo("int", 5)),
    case("int-from-float-1.0", post("echo_int", {"x": 1.0}), 200, echo("int", 1)),
    case("int-from-true", post("echo_int", {"x": True}), 200, echo("int", 1)),
    case("int-max-int64", post("echo_int", {"x": 2**63 - 1}), 200, echo("int", 2**63 - 1)),
    case("int-rejects-1.5", post("echo_int", {"x": 1.5}), 422, [err("int_from_float", ["body", "x"], 1.5)]),
    case("int-rejects-abc", post("echo_int", {"x": "abc"}), 422, [err("int_parsing", ["body", "x"], "abc")]),
    case("int-rejects-huge", post("echo_int", {"x": 2**70}), 422, [err("int_parsing_size", ["body", "x"])]),
    case("int-rejects-huge-str", post("echo_int", {"x": "1" * 30}), 422,
         [err("int_parsing_size", ["body", "x"], "1" * 30)]),
    case("int-rejects-list", post("echo_int", {"x": [1]}), 422, [err("int_type", ["body", "x"], [1])]),
    # ---- float ----
    case("float-from-int", post("echo_float", {"x": 5}), 200, echo("float", 5.0)),
    case("float-from-str-exp", post("echo_float", {"x": "1e3"}), 200, echo("float", 1000.0)),
    case("float-from-bool", post("echo_float", {"x": True}), 200, echo("float", 1.0)),
    case("float-nan-string-answers-null", post("echo_float", {"x": "nan"}), 200, echo("float", None)),
    case("float-rejects-word", post("echo_float", {"x": "x"}), 422, [err("float_parsing", ["body", "x"], "x")]),
    case("float-rejects-object", post("echo_float", {"x": {}}), 422, [err("float_type", ["body", "x"], {})]),
    # ---- bool ----
    case("bool-true", post("echo_bool", {"x": True}), 200, echo("bool", True)),
    case("bool-from-str-true", post("echo_bool", {"x": "true"}), 200, echo("bool", True)),
    case("bool-from-yes", post("echo_bool", {"x": "yes"}), 200, echo("bool", True)),
    case("bool-from-OFF", post("echo_bool", {"x": "OFF"}), 200, echo("bool", False)),
    case("bool-from-0", post("echo_bool", {"x": 0}), 200, echo("bool", False)),
    case("bool-from-1", post("echo_bool", {"x": 1}), 200, echo("bool", True)),
    case("bool-rejects-2", post("echo_bool", {"x": 2}), 422, [err("bool_parsing", ["body", "x"], 2)]),
    case("bool-rejects-maybe", post("echo_bool", {"x": "maybe"}), 422, [err("bool_parsing", ["body", "x"], "maybe")]),
    case("bool-rejects-list", post("echo_bool", {"x": []}), 422, [err("bool_type", ["body", "x"], [])]),
    # ---- None ----
    case("none-ok", post("echo_none", {"x": None}), 200, echo("NoneType", None)),
    case("none-rejects-0", post("echo_none", {"x": 0}), 422, [err("none_required", ["body", "x"], 0)]),
    # ---- bytes ----
    case("bytes-base64", post("echo_bytes", {"x": "aGVsbG8="}), 200, {"type": "bytes", "hex": "68656c6c6f"}),
    case("bytes-base64-no-padding", post("echo_bytes", {"x": "aGVsbG8"}), 200, {"type": "bytes", "hex": "68656c6c6f"}),
    case("bytes-base64-urlsafe", post("echo_bytes", {"x": "-_8="}), 200, {"type": "bytes", "hex": "fbff"}),
    case("bytes-base64-standard", post("echo_bytes", {"x": "+/8="}), 200, {"type": "bytes", "hex": "fbff"}),
    case("bytes-rejects-bad-base64", post("echo_bytes", {"x": "!!!"}), 422, [err("base64_decode", ["body", "x"], "!!!")]),
    case("bytes-rejects-int", post("echo_bytes", {"x": 5}), 422, [err("bytes_type", ["body", "x"], 5)]),
    # ---- datetime / date / time ----
    case("datetime-Z", post("echo_datetime", {"x": "2024-05-01T12:00:00Z"}), 200,
         {"type": "datetime", "value": "2024-05-01T12:00:00+00:00", "utcoffset": 0.0}),
    case("datetime-offset", post("echo_datetime", {"x": "2024-05-01T12:00:00+02:00"}), 200,
         {"type": "datetime", "value": "2024-05-01T12:00:00+02:00", "utcoffset": 7200.0}),
    case("datetime-naive", post("echo_datetime", {"x": "2024-05-01T12:00:00"}), 200,
         {"type": "datetime", "value": "2024-05-01T12:00:00", "utcoffset": None}),
    case("datetime-space-micro-compact-offset", post("echo_datetime", {"x": "2024-05-01 12:00:00.123456-0530"}), 200,
         {"type": "datetime", "value": "2024-05-01T12:00:00.123456-05:30", "utcoffset": -19800.0}),
    case("datetime-date-only", post("echo_datetime", {"x": "2024-05-01"}), 200,
         {"type": "datetime", "value": "2024-05-01T00:00:00", "utcoffset": None}),
    case("datetime-unix-0", post("echo_datetime", {"x": 0}), 200,
         {"type": "datetime", "value": "1970-01-01T00:00:00+00:00", "utcoffset": 0.0}),
    case("datetime-unix-fraction", post("echo_datetime", {"x": 1714564800.5}), 200,
         {"type": "datetime", "value": "2024-05-01T12:00:00.500000+00:00", "utcoffset": 0.0}),
    case("datetime-rejects-feb-30", post("echo_datetime", {"x": "2024-02-30T00:00:00"}), 422,
         [err("datetime_parsing", ["body", "x"], "2024-02-30T00:00:00")]),
    case("datetime-rejects-word", post("echo_datetime", {"x": "yesterday"}), 422,
         [err("datetime_parsing", ["body", "x"], "yesterday")]),
    case("datetime-rejects-bool", post("echo_datetime", {"x": True}), 422, [err("datetime_type", ["body", "x"], True)]),
    case("date-leap-day", post("echo_date", {"x": "2024-02-29"}), 200, {"type": "date", "value": "2024-02-29"}),
    case("date-rejects-2024-02-30", post("echo_date", {"x": "2024-02-30"}), 422,
         [err("date_parsing", ["body", "x"], "2024-02-30")]),
    case("date-rejects-2023-02-29", post("echo_date", {"x": "2023-02-29"}), 422,
         [err("date_parsing", ["body", "x"], "2023-02-29")]),
    case("date-rejects-month-13", post("echo_date", {"x": "2024-13-01"}), 422,
         [err("date_parsing", ["body", "x"], "2024-13-01")]),
    case("date-rejects-datetime", post("echo_date", {"x": "2024-05-01T00:00:00"}), 422,
         [err("date_parsing", ["body", "x"])]),
    case("date-rejects-number", post("echo_date", {"x": 20240101}), 422, [err("date_type", ["body", "x"], 20240101)]),
    case("time-hh-mm", post("echo_time", {"x": "12:30"}), 200, {"type": "time", "value": "12:30:00"}),
    case("time-fraction-offset", post("echo_time", {"x": "12:30:15.5+01:00"}), 200,
         {"type": "time", "value": "12:30:15.500000+01:00"}),
    case("time-extra-digits-cut-Z", post("echo_time", {"x": "23:59:59.1234567Z"}), 200,
         {"type": "time", "value": "23:59:59.123456+00:00"}),
    case("time-rejects-25h", post("echo_time", {"x": "25:00"}), 422, [err("time_parsing", ["body", "x"], "25:00")]),
    case("time-rejects-number", post("echo_time", {"x": 5}), 422, [err("time_type", ["body", "x"], 5)]),
    # ---- UUID ----
    case("uuid-hyphens", post("echo_uuid", {"x": "12345678-1234-5678-1234-567812345678"}), 200,
         {"type": "UUID", "value": "12345678-1234-5678-1234-567812345678"}),
    case("uuid-no-hyphens", post("echo_uuid", {"x": "12345678123456781234567812345678"}), 200,
         {"type": "UUID", "value": "12345678-1234-5678-1234-567812345678"}),
    case("uuid-upper-case", post("echo_uuid", {"x": "ABCDEF00-1234-5678-1234-567812345678"}), 200,
         {"type": "UUID", "value": "abcdef00-1234-5678-1234-567812345678"}),
    case("uuid-braces", post("echo_uuid", {"x": "{12345678-1234-5678-1234-567812345678}"}), 200,
         {"type": "UUID", "value": "12345678-1234-5678-1234-567812345678"}),
    case("uuid-urn", post("echo_uuid", {"x": "urn:uuid:12345678-1234-5678-1234-567812345678"}), 200,
         {"type": "UUID", "value": "12345678-1234-5678-1234-567812345678"}),
    case("uuid-rejects-short", post("echo_uuid", {"x": "1234"}), 422, [err("uuid_parsing", ["body", "x"], "1234")]),
    case("uuid-rejects-non-hex", post("echo_uuid", {"x": "g2345678-1234-5678-1234-567812345678"}), 422,
         [err("uuid_parsing", ["body", "x"])]),
    case("uuid-rejects-int", post("echo_uuid", {"x": 5}), 422, [err("uuid_type", ["body", "x"], 5)]),
    # ---- several arguments: every wrong one is reported ----
    case("multi-coerced", post("multi", {"a": "7", "b": 2, "c": "n"}), 200,
         {"a": echo("int", 7), "b": echo("float", 2.0), "c": echo("bool", False)}),
    case("multi-three-errors", post("multi", {"a": 1.5, "b": "x", "c": 2}), 422,
         [err("int_from_float", ["body", "a"], 1.5), err("float_parsing", ["body", "b"], "x"),
          err("bool_parsing", ["body", "c"], 2)]),
    case("multi-two-missing", post("multi", {"b": 2}), 422, [err("missing", ["body", "a"]), err("missing", ["body", "c"])]),
    case("multi-missing-and-wrong", post("multi", {"a": "x", "c": True}), 422,
         [err("int_parsing", ["body", "a"], "x"), err("missing", ["body", "b"])]),
    # ---- list / tuple / set / dict ----
    case("list-coerces-items", post("echo_list", {"values": [1, "2", 3.0]}), 200,
         {"type": "list", "value": [1, 2, 3], "items": ["int", "int", "int"]}),
    case("list-empty", post("echo_list", {"values": []}), 200, {"type": "list", "value": [], "items": []}),
    case("list-two-bad-items", post("echo_list", {"values": [1, "x", 3, 4.5]}), 422,
         [err("int_parsing", ["body", "values", 1], "x"), err("int_from_float", ["body", "values", 3], 4.5)]),
    case("list-rejects-scalar", post("echo_list", {"values": 5}), 422, [err("list_type", ["body", "values"], 5)]),
    case("list-rejects-string", post("echo_list", {"values": "12"}), 422, [err("list_type", ["body", "values"], "12")]),
    case("tuple-ok", post("echo_tuple", {"pair": [1, "a"]}), 200,
         {"type": "tuple", "value": [1, "a"], "items": ["int", "str"]}),
    case("tuple-coerces-position", post("echo_tuple", {"pair": ["1", "a"]}), 200,
         {"type": "tuple", "value": [1, "a"], "items": ["int", "str"]}),
    case("tuple-too-long", post("echo_tuple", {"pair": [1, "a", 3]}), 422, [err("too_long", ["body", "pair"])]),
    case("tuple-missing-position", post("echo_tuple", {"pair": [1]}), 422, [err("missing", ["body", "pair", 1])]),
    case("tuple-wrong-position", post("echo_tuple", {"pair": [1, 2]}), 422, [err("string_type", ["body", "pair", 1], 2)]),
    case("tuple-rejects-string", post("echo_tuple", {"pair": "ab"}), 422, [err("tuple_type", ["body", "pair"], "ab")]),
    case("var-tuple-ok", post("echo_var_tuple", {"values": [1, 2, "3"]}), 200,
         {"type": "tuple", "value": [1, 2, 3], "items": ["int", "int", "int"]}),
    case("var-tuple-empty", post("echo_var_tuple", {"values": []}), 200, {"type": "tuple", "value": [], "items": []}),
    case("set-dedups", post("echo_set", {"values": [3, 1, 3, "2"]}), 200,
         {"type": "set", "value": [1, 2, 3], "items": ["int", "int", "int"]}),
    case("set-bad-item", post("echo_set", {"values": [1, "x"]}), 422, [err("int_parsing", ["body", "values", 1], "x")]),
    case("dict-coerces-values", post("echo_dict", {"weights": {"a": 1, "b": "2.5"}}), 200,
         {"type": "dict", "value": {"a": 1.0, "b": 2.5}, "items": {"a": "float", "b": "float"}}),
    case("dict-bad-value-loc-is-key", post("echo_dict", {"weights": {"a": 1, "b": "heavy"}}), 422,
         [err("float_parsing", ["body", "weights", "b"], "heavy")]),
    case("dict-rejects-list", post("echo_dict", {"weights": [1]}), 422, [err("dict_type", ["body", "weights"], [1])]),
    # ---- Optional / Union / Literal ----
    case("optional-null", post("echo_optional", {"x": None}), 200, echo("NoneType", None)),
    case("optional-omitted-uses-default", post("echo_optional", {}), 200, echo("NoneType", None)),
    case("optional-coerces", post("echo_optional", {"x": "5"}), 200, echo("int", 5)),
    case("optional-error-is-inner", post("echo_optional", {"x": "five"}), 422, [err("int_parsing", ["body", "x"], "five")]),
    case("union-int", post("echo_union", {"x": 5}), 200, echo("int", 5)),
    case("union-str-stays-str", post("echo_union", {"x": "5"}), 200, echo("str", "5")),
    case("union-rejects-1.5-both-options", post("echo_union", {"x": 5.5}), 422,
         [err("int_from_float", ["body", "x", "int"], 5.5), err("string_type", ["body", "x", "str"], 5.5)]),
    case("union-rejects-list", post("echo_union", {"x": [1]}), 422,
         [err("int_type", ["body", "x", "int"]), err("string_type", ["body", "x", "str"])]),
    case("literal-ok", post("echo_literal", {"x": "a"}), 200, echo("str", "a")),
    case("literal-rejects-other", post("echo_literal", {"x": "c"}), 422, [err("literal_error", ["body", "x"], "c")]),
    case("literal-rejects-int", post("echo_literal", {"x": 1}), 422, [err("literal_error", ["body", "x"], 1)]),
    # ---- Enum ----
    case("enum-str-by-value", post("echo_color", {"color": "red"}), 200, {"type": "Color", "name": "RED", "value": "red"}),
    case("enum-str-rejects-name", post("echo_color", {"color": "RED"}), 422, [err("enum", ["body", "color"], "RED")]),
    case("enum-str-rejects-unknown", post("echo_color", {"color": "blue"}), 422, [err("enum", ["body", "color"], "blue")]),
    case("enum-int-by-value", post("echo_level", {"level": 2}), 200, {"type": "Level", "name": "HIGH", "value": 2}),
    case("enum-int-from-numeric-str", post("echo_level", {"level": "2"}), 200, {"type": "Level", "name": "HIGH", "value": 2}),
    case("enum-int-rejects-float", post("echo_level", {"level": 2.0}), 422, [err("enum", ["body", "level"], 2.0)]),
    case("enum-int-rejects-unknown", post("echo_level", {"level": 3}), 422, [err("enum", ["body", "level"], 3)]),
    case("enum-int-rejects-name", post("echo_level", {"level": "HIGH"}), 422, [err("enum", ["body", "level"], "HIGH")]),
    # ---- dataclass (nested, optional field, defaults) ----
    case("dataclass-defaults", post("echo_window", {"window": WIN}), 200, WIN_ECHO),
    case("dataclass-all-fields-coerced", post("echo_window", {"window": {
        **WIN, "end": 1714525200, "origin": {"x": "1", "y": 2}, "label": "L", "repeat": "3", "tags": ["t"],
        "unknown": 1}}), 200, {**WIN_ECHO, "label": "L", "repeat": 3, "tags": ["t"]}),
    case("dataclass-nested-locs", post("echo_window", {"window": {**WIN, "start": "nope", "origin": {"x": "a", "y": 2}}}),
         422, [err("datetime_parsing", ["body", "window", "start"], "nope"),
               err("float_parsing", ["body", "window", "origin", "x"], "a")]),
    case("dataclass-missing-fields", post("echo_window", {"window": {"end": DT}}), 422,
         [err("missing", ["body", "window", "start"]), err("missing", ["body", "window", "origin"])]),
    case("dataclass-optional-field-wrong", post("echo_window", {"window": {**WIN, "label": 5}}), 422,
         [err("string_type", ["body", "window", "label"], 5)]),
    case("dataclass-rejects-scalar", post("echo_window", {"window": 5}), 422, [err("dataclass_type", ["body", "window"], 5)]),
    case("dataclass-returned", post("roundtrip_window", {"window": WIN}), 200,
         {"start": "2024-05-01T00:00:00+00:00", "end": "2024-05-01T01:00:00+00:00", "origin": {"x": 1.0, "y": 2.0},
          "label": None, "repeat": 1, "tags": []}),
    case("list-of-dataclass", post("echo_points", {"points": [{"x": 1, "y": 2}, {"x": "3", "y": 2}]}), 200,
         {"type": "list", "items": ["Point", "Point"], "xs": [1.0, 3.0]}),
    case("list-of-dataclass-loc-index", post("echo_points", {"points": [{"x": 1, "y": 2}, 7]}), 422,
         [err("dataclass_type", ["body", "points", 1], 7)]),
    case("list-of-dataclass-loc-index-field", post("echo_points", {"points": [{"x": 1, "y": 2}, {"x": "a", "y": 2}]}),
         422, [err("float_parsing", ["body", "points", 1, "x"], "a")]),
    # ---- TypedDict ----
    case("typeddict-ok", post("echo_reading", {"reading": {"sensor": "t1", "value": "21.5"}}), 200,
         {"type": "dict", "value": {"sensor": "t1", "value": 21.5}, "items": {"sensor": "str", "value": "float"}}),
    case("typeddict-optional-key-unknown-dropped",
         post("echo_reading", {"reading": {"sensor": "t1", "value": 21, "unit": "C", "junk": 1}}), 200,
         {"type": "dict", "value": {"sensor": "t1", "value": 21.0, "unit": "C"},
          "items": {"sensor": "str", "value": "float", "unit": "str"}}),
    case("typeddict-missing-and-wrong", post("echo_reading", {"reading": {"value": "hot"}}), 422,
         [err("missing", ["body", "reading", "sensor"]), err("float_parsing", ["body", "reading", "value"], "hot")]),
    # ---- pydantic model (alias, constraint, validator) ----
    case("pydantic-alias", post("echo_order", {"order": {"itemId": "7", "quantity": 2}}), 200,
         {"type": "Order", "item_id": 7, "item_id_type": "int", "quantity": 2, "note": None}),
    case("pydantic-default", post("echo_order", {"order": {"itemId": 7}}), 200,
         {"type": "Order", "item_id": 7, "item_id_type": "int", "quantity": 1, "note": None}),
    case("pydantic-field-name-is-not-the-alias", post("echo_order", {"order": {"item_id": 7}}), 422,
         [err("missing", ["body", "order", "itemId"])]),
    case("pydantic-aliased-field-wrong", post("echo_order", {"order": {"itemId": "x"}}), 422,
         [err("int_parsing", ["body", "order", "itemId"], "x")]),
    case("pydantic-constraint-gt-0", post("echo_order", {"order": {"itemId": 7, "quantity": 0}}), 422,
         [err(NOT_GT, ["body", "order", "quantity"])]),
    case("pydantic-validator", post("echo_order", {"order": {"itemId": 7, "note": "LOUD"}}), 422,
         [err("value_error", ["body", "order", "note"])]),
    case("pydantic-returned-by-alias", post("roundtrip_order", {"order": {"itemId": "7", "quantity": 2}}), 200,
         {"itemId": 7, "quantity": 2, "note": None}),
    # ---- numpy ----
    case("ndarray-int", post("echo_array", {"a": [1, 2, 3]}), 200,
         {"type": "ndarray", "dtype": "int64", "shape": [3], "value": [1, 2, 3], "contiguous": True}),
    case("ndarray-float-inferred", post("echo_array", {"a": [1, 2.5]}), 200,
         {"type": "ndarray", "dtype": "float64", "shape": [2], "value": [1.0, 2.5], "contiguous": True}),
    case("ndarray-2d", post("echo_array", {"a": [[1, 2], [3, 4]]}), 200,
         {"type": "ndarray", "dtype": "int64", "shape": [2, 2], "value": [[1, 2], [3, 4]], "contiguous": True}),
    case("ndarray-bool", post("echo_array", {"a": [True, False]}), 200,
         {"type": "ndarray", "dtype": "bool", "shape": [2], "value": [True, False], "contiguous": True}),
    case("ndarray-ragged", post("echo_array", {"a": [[1, 2], [3]]}), 422, [err("ndarray_shape", ["body", "a", 1], [3])]),
    case("ndarray-rejects-object", post("echo_array", {"a": {"k": 1}}), 422, [err("ndarray_type", ["body", "a"])]),
    case("ndarray-rejects-word", post("echo_array", {"a": [1, "x"]}), 422, [err("ndarray_type", ["body", "a", 1])]),
    case("ndarray-rejects-null", post("echo_array", {"a": [[1, 2], [None, 4]]}), 422,
         [err("ndarray_type", ["body", "a", 1, 0])]),
    # Daeploy's ArrayInput: any JSON array, what numpy makes of it, as Daeploy's np.array(value) (issue 15)
    case("array-input-mixed-is-a-str-array", post("echo_any_array", {"a": [1, "x"]}), 200,
         {"type": "ndarray", "dtype": "<U21", "shape": [2], "value": ["1", "x"], "contiguous": True}),
    case("array-input-null-makes-an-object-array", post("echo_any_array", {"a": [[1, 2], [None, 4]]}), 200,
         {"type": "ndarray", "dtype": "object", "shape": [2, 2], "value": [[1, 2], [None, 4]], "contiguous": True}),
    case("array-input-of-objects", post("echo_any_array", {"a": [{"k": 1}, {"j": 2}]}), 200,
         {"type": "ndarray", "dtype": "object", "shape": [2], "value": [{"k": 1}, {"j": 2}], "contiguous": True}),
    case("array-input-numbers-stay-numbers", post("echo_any_array", {"a": [1, 2.5]}), 200,
         {"type": "ndarray", "dtype": "float64", "shape": [2], "value": [1.0, 2.5], "contiguous": True}),
    case("array-input-ragged-is-422", post("echo_any_array", {"a": [[1, 2], [3]]}), 422,
         [err("ndarray_shape", ["body", "a", 1], [3])]),
    case("ndarray-returned", post("double_array", {"a": [[1, 2], [3, 4]]}), 200, [[2, 4], [6, 8]]),
    case("ndarray-dtype-int32", post("echo_matrix", {"m": [[1, 2], [3, 4]]}), 200,
         {"type": "ndarray", "dtype": "int32", "shape": [2, 2], "value": [[1, 2], [3, 4]], "contiguous": True}),
    case("ndarray-dtype-int32-from-1.0", post("echo_matrix", {"m": [[1.0, 2], [3, 4]]}), 200,
         {"type": "ndarray", "dtype": "int32", "shape": [2, 2], "value": [[1, 2], [3, 4]], "contiguous": True}),
    case("ndarray-shape-mismatch-columns", post("echo_matrix", {"m": [[1, 2, 3], [4, 5, 6]]}), 422,
         [err("ndarray_shape", ["body", "m"])]),
    case("ndarray-shape-mismatch-ndim", post("echo_matrix", {"m": [1, 2]}), 422, [err("ndarray_shape", ["body", "m"])]),
    case("ndarray-ragged-with-shape", post("echo_matrix", {"m": [[1, 2], [3]]}), 422,
         [err("ndarray_shape", ["body", "m", 1], [3])]),
    case("ndarray-dtype-rejects-fraction", post("echo_matrix", {"m": [[1, 2], [3.5, 4]]}), 422,
         [err("ndarray_value", ["body", "m", 1, 0], 3.5)]),
    case("ndarray-dtype-rejects-overflow", post("echo_matrix", {"m": [[1, 2], [3, 3_000_000_000]]}), 422,
         [err("ndarray_value", ["body", "m", 1, 1], 3_000_000_000)]),
    case("ndarray-dtype-rejects-string", post("echo_matrix", {"m": [[1, 2], [3, "4"]]}), 422,
         [err("ndarray_type", ["body", "m", 1, 1])]),
    case("ndarray-bool-dtype-from-0-1", post("echo_bits", {"bits": [[True, False, 1]]}), 200,
         {"type": "ndarray", "dtype": "bool", "shape": [1, 3], "value": [[True, False, True]], "contiguous": True}),
    case("ndarray-bool-dtype-rejects-2", post("echo_bits", {"bits": [[1, 0, 1], [0, 2, 1]]}), 422,
         [err("ndarray_value", ["body", "bits", 1, 1], 2)]),
    case("ndarray-bool-shape-mismatch", post("echo_bits", {"bits": [[True, False]]}), 422,
         [err("ndarray_shape", ["body", "bits"])]),
    # ---- pandas ----
    case("dataframe-columns-of-lists", post("echo_frame", {"df": {"a": [1, 2], "b": ["x", "y"]}}), 200, FRAME_AB),
    case("dataframe-to-dict-form", post("echo_frame", {"df": {"a": {"r1": 1, "r2": 2}, "b": {"r1": "x", "r2": "y"}}}),
         200, {**FRAME_AB, "index": ["r1", "r2"]}),
    case("dataframe-records", post("echo_frame", {"df": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}), 200, FRAME_AB),
    case("dataframe-empty-records", post("echo_frame", {"df": []}), 200,
         {"type": "DataFrame", "columns": [], "index": [], "records": []}),
    case("dataframe-unequal-columns", post("echo_frame", {"df": {"a": [1, 2], "b": [1]}}), 422,
         [err("dataframe_shape", ["body", "df", "b"], [1])]),
    case("dataframe-rejects-scalar", post("echo_frame", {"df": 5}), 422, [err("dataframe_type", ["body", "df"], 5)]),
    case("dataframe-rejects-scalar-column", post("echo_frame", {"df": {"a": 5}}), 422,
         [err("dataframe_type", ["body", "df", "a"], 5)]),
    case("dataframe-rejects-non-record", post("echo_frame", {"df": [1, 2]}), 422,
         [err("dataframe_type", ["body", "df", 0], 1)]),
    # ---- Any ----
    case("any-object", post("echo_any", {"x": {"k": [1, "2", None]}}), 200, echo("dict", {"k": [1, "2", None]})),
    case("any-float", post("echo_any", {"x": 1.5}), 200, echo("float", 1.5)),
    case("any-still-required", post("echo_any", {}), 422, [err("missing", ["body", "x"], None)]),
    case("unannotated", post("echo_unannotated", {"x": "s"}), 200, echo("str", "s")),
    # ---- GET: arguments from the query string ----
    case("query-int-from-string", get("get_scalars", {"a": "5"}), 200,
         {"a": echo("int", 5), "b": echo("float", 0.5), "flag": echo("bool", False), "word": echo("str", "none")}),
    case("query-all-coerced", get("get_scalars", "a=5&b=2&flag=yes&word=hello+world"), 200,
         {"a": echo("int", 5), "b": echo("float", 2.0), "flag": echo("bool", True), "word": echo("str", "hello world")}),
    case("query-percent-decoded", get("get_scalars", "a=1.0&word=%C3%A9t%C3%A9%20x"), 200,
         {"a": echo("int", 1), "b": echo("float", 0.5), "flag": echo("bool", False), "word": echo("str", "été x")}),
    case("query-three-errors", get("get_scalars", {"a": "x", "b": "y", "flag": "maybe"}), 422,
         [err("int_parsing", ["query", "a"], "x"), err("float_parsing", ["query", "b"], "y"),
          err("bool_parsing", ["query", "flag"], "maybe")]),
    case("query-missing", get("get_scalars"), 422, [err("missing", ["query", "a"])]),
    case("query-json-body-on-get", ("GET", "/get_scalars", {"a": "9"}), 200,
         {"a": echo("int", 9), "b": echo("float", 0.5), "flag": echo("bool", False), "word": echo("str", "none")}),
    case("query-list-repeated-keys", get("get_list", "xs=1&xs=2&xs=3"), 200,
         {"type": "list", "value": [1, 2, 3], "items": ["int", "int", "int"]}),
    case("query-list-single-value", get("get_list", "xs=7"), 200, {"type": "list", "value": [7], "items": ["int"]}),
    case("query-list-bad-item-loc", get("get_list", "xs=1&xs=x"), 422, [err("int_parsing", ["query", "xs", 1], "x")]),
    case("query-list-missing", get("get_list"), 422, [err("missing", ["query", "xs"])]),
    case("query-date-enum-optional-enum", get("get_when", "day=2024-02-29&level=2&color=green"), 200,
         {"day": ["date", "2024-02-29"], "level": ["Level", 2], "color": ["Color", "green"]}),
    case("query-bad-date", get("get_when", "day=2024-02-30"), 422, [err("date_parsing", ["query", "day"], "2024-02-30")]),
    case("query-bad-enums", get("get_when", "day=2024-01-01&level=3&color=blue"), 422,
         [err("enum", ["query", "level"], "3"), err("enum", ["query", "color"], "blue")]),
]


def _matches_type(expected, actual):
    return actual in expected if isinstance(expected, tuple) else actual == expected


@pytest.mark.parametrize("request_, status, expected", CASES)
def test_type_table(types_service, request_, status, expected):
    method, path, body = request_
    kwargs = {} if body is None else {"json": body}
    resp = types_service.request(method, path, **kwargs)
    shown = f"{method} {path}" + ("" if body is None else f" {json.dumps(body)}")
    assert resp.status == status, f"{shown}\n  expected {status}, got {resp.status}: {resp.text[:2000]}"
    if status != 422:
        assert resp.body == expected, f"{shown}\n  expected {expected!r}\n  got      {resp.body!r}"
        return
    assert isinstance(resp.body, dict) and isinstance(resp.body.get("detail"), list), f"{shown}: not a 422 body: {resp}"
    errors = resp.body["detail"]
    for e in errors:
        assert {"type", "loc", "msg"} <= set(e), f"{shown}: error lacks type/loc/msg: {e!r}"
        assert isinstance(e["msg"], str) and e["msg"], f"{shown}: empty msg in {e!r}"
    got = [(e["type"], e["loc"]) for e in errors]
    want = [(t, loc) for t, loc, _ in expected]
    ok = len(got) == len(want) and all(_matches_type(wt, gt) and wl == gl for (wt, wl), (gt, gl) in zip(want, got))
    assert ok, f"{shown}\n  expected errors (type, loc) {want}\n  got                       {got}\n  body: {resp.text[:2000]}"
    for (t, loc, input_), e in zip(expected, errors):
        if input_ is not _NO_INPUT:
            assert "input" in e and e["input"] == input_, (
                f"{shown}: error at {loc} should carry input {input_!r}, got {e.get('input', '<absent>')!r}")


def test_table_size():
    assert len(CASES) >= 60, len(CASES)


# ------------------------------------------------------------------------------------------------------------------
# Rules the table cannot express row by row


def test_missing_error_input_is_as_fastapi_gives_it(types_service):
    """A missing argument's input is null, as FastAPI reports a missing (embedded) body field; a missing field inside
    an argument carries the object as sent (pydantic's), not a partly coerced copy."""
    sent = {"b": "2"}  # valid for b: float, so the runtime coerces it to 2.0 while it looks for the missing a and c
    resp = types_service.request("POST", "/multi", json=sent)
    assert resp.status == 422, resp
    inputs = [e.get("input", "absent") for e in resp.body["detail"] if e["type"] == "missing"]
    assert inputs == [None, None], f"POST /multi {json.dumps(sent)}: the two `missing` errors carry inputs {inputs}"
    window = {"end": "2024-05-01T01:00:00Z"}
    resp = types_service.request("POST", "/echo_window", json={"window": window})
    assert resp.status == 422, resp
    inputs = [e.get("input") for e in resp.body["detail"] if e["type"] == "missing"]
    assert inputs == [window, window], (f"POST /echo_window {{'window': {window}}}: `missing` inputs {inputs}; both "
                                        f"should be {window} (the datetime string as sent, not re-rendered)")


def test_validation_error_is_fastapi_shaped(types_service):
    resp = types_service.request("POST", "/multi", json={"a": "x", "b": 1, "c": True})
    assert resp.status == 422, resp
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    assert list(resp.body) == ["detail"], resp.body
    (e,) = resp.body["detail"]
    assert set(e) == {"type", "loc", "msg", "input"}, e
    assert e == {"type": "int_parsing", "loc": ["body", "a"], "input": "x",
                 "msg": "Input should be a valid integer, unable to parse string as an integer"}, e


def test_ndarray_argument_is_one_contiguous_buffer(types_service):
    """A large array arrives as a C-contiguous ndarray of the declared dtype with every value intact."""
    rows = [[i, -i] for i in range(5000)]
    resp = types_service.request("POST", "/echo_matrix", json={"m": rows})
    assert resp.status == 200, resp
    assert resp.body["dtype"] == "int32" and resp.body["shape"] == [5000, 2] and resp.body["contiguous"] is True
    assert resp.body["value"] == rows


def test_parameter_validation_uses_the_same_rules(types_service):
    """POST /parameters/threshold coerces like an argument; a wrong type is a 422 and leaves the value unchanged."""
    try:
        ok = types_service.request("POST", "/parameters/threshold", json={"threshold": "0.25"})
        assert ok.status == 200 and ok.body == {"threshold": 0.25}, ok
        bad = types_service.request("POST", "/parameters/threshold", json={"value": "high"})
        assert bad.status == 422, bad
        # Daeploy's {"value": ...} shape: the error points at "value", where the client put it
        assert [(e["type"], e["loc"]) for e in bad.body["detail"]] == [("float_parsing", ["body", "value"])], bad
        assert types_service.request("GET", "/parameters/threshold").body == {"threshold": 0.25}
        ro = types_service.request("POST", "/parameters/labels", json={"labels": ["z"]})
        assert ro.status == 405, ro
    finally:
        types_service.request("POST", "/parameters/threshold", json={"threshold": 0.5})


@pytest.mark.parametrize("entrypoint, body, loc, offending", [
    ("echo_order", {"order": {"itemId": 7, "quantity": 0}}, ["body", "order", "quantity"], 0),
    ("echo_order", {"order": {"itemId": 7, "note": "LOUD"}}, ["body", "order", "note"], "LOUD"),
    ("echo_matrix", {"m": [[1, 2, 3]]}, ["body", "m"], [[1, 2, 3]]),
], ids=["pydantic-constraint", "pydantic-validator", "ndarray-shape"])
def test_error_input_is_the_offending_value(types_service, entrypoint, body, loc, offending):
    """`input` is the value found at `loc` in the request (as FastAPI reports it), also for errors raised by a
    pydantic model's own validation and for a whole-array shape mismatch, never null when the value is known."""
    resp = types_service.request("POST", f"/{entrypoint}", json=body)
    assert resp.status == 422, resp
    errors = [e for e in resp.body["detail"] if e["loc"] == loc]
    assert len(errors) == 1, f"POST /{entrypoint} {json.dumps(body)}: no single error at {loc}: {resp.body}"
    assert errors[0].get("input") == offending, (
        f"POST /{entrypoint} {json.dumps(body)}: error at {loc} carries input {errors[0].get('input')!r}, "
        f"expected the offending value {offending!r}")
