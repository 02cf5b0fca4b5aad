"""examples/analytics end to end: numpy arrays, pandas DataFrames, an Enum, a dataclass with datetimes, and a float
parameter, through the real binary with real values. Its OpenAPI golden file is compared here too (the full set of
golden checks is tests/e2e/test_openapi.py)."""

import json
import math
import statistics

import pytest

from test_openapi import GOLDEN_DIR, canonical, diff_text, openapi_of

SERVICE = "examples/analytics/service.py"


@pytest.fixture(scope="module")
def analytics(module_launcher):
    return module_launcher.start(SERVICE)


def call(svc, entrypoint, body):
    resp = svc.request("POST", f"/{entrypoint}", json=body)
    return resp


def errors_of(resp):
    assert resp.status == 422, f"expected 422, got {resp}"
    return [(e["type"], e["loc"]) for e in resp.body["detail"]]


# ---- summarize(values: np.ndarray, how: Aggregate = MEAN) -> float ----------------------------------------------


@pytest.mark.parametrize("body, expected", [
    ({"values": [1, 2, 3, 4]}, 2.5),
    ({"values": [1, 2, 3, 4], "how": "mean"}, 2.5),
    ({"values": [1, 2, 3, 4], "how": "sum"}, 10.0),
    ({"values": [1, 2, 3, 4], "how": "max"}, 4.0),
    ({"values": [0.5, 1.25, -3.75]}, (0.5 + 1.25 - 3.75) / 3),
    ({"values": [[1, 2], [3, 4]], "how": "sum"}, 10.0),
    ({"values": [True, False, True, True], "how": "sum"}, 3.0),
], ids=["mean-default", "mean", "sum", "max", "floats", "2d-sum", "bools-sum"])
def test_summarize(analytics, body, expected):
    resp = call(analytics, "summarize", body)
    assert resp.status == 200, resp
    assert isinstance(resp.body, float) and math.isclose(resp.body, expected), f"{body} -> {resp.body!r}, want {expected}"


def test_summarize_large_array(analytics):
    values = [i * 0.5 for i in range(20000)]
    resp = call(analytics, "summarize", {"values": values, "how": "sum"})
    assert resp.status == 200 and math.isclose(resp.body, sum(values)), resp


def test_summarize_rejections(analytics):
    assert errors_of(call(analytics, "summarize", {"values": [1, 2], "how": "median"})) == [("enum", ["body", "how"])]
    assert errors_of(call(analytics, "summarize", {"how": "sum"})) == [("missing", ["body", "values"])]
    assert errors_of(call(analytics, "summarize", {"values": [[1, 2], [3]]})) == [("ndarray_shape", ["body", "values", 1])]
    assert errors_of(call(analytics, "summarize", {"values": {"a": 1}})) == [("ndarray_type", ["body", "values"])]


@pytest.mark.parametrize("values", [[1, "x"], [None, 1], [{"a": 1}]], ids=["number-and-word", "null", "object"])
def test_summarize_non_numeric_array_is_422_not_500(analytics, values):
    """The contract (docs/dev/type-descriptions.md) accepts nested arrays of numbers or bools for an ndarray; other
    values must be a 422 naming the element, never reach numpy as a string/object array and crash the user's code."""
    resp = call(analytics, "summarize", {"values": values})
    assert resp.status == 422, (f"POST /summarize {json.dumps({'values': values})} answered {resp.status} "
                                f"{resp.text[:300]}; expected 422 ndarray_type")
    assert [e["type"] for e in resp.body["detail"]] == ["ndarray_type"], resp.body


def test_summarize_numeric_strings_never_500(analytics):
    """["1", "2"]: coercing to numbers (1.5) or rejecting (422) are both defensible; a 500 is not."""
    resp = call(analytics, "summarize", {"values": ["1", "2"]})
    assert (resp.status == 200 and resp.body == 1.5) or (resp.status == 422 and resp.body["detail"][0]["type"] == "ndarray_type"), (
        f'POST /summarize {{"values": ["1", "2"]}} answered {resp.status} {resp.text[:300]}')


def test_scale_parameter_changes_results(analytics):
    before = call(analytics, "summarize", {"values": [1, 2, 3, 4], "how": "sum"})
    assert before.status == 200 and before.body == 10.0, before
    try:
        changed = analytics.request("POST", "/parameters/scale", json={"value": "2.5"})
        assert changed.status == 200 and changed.body == {"scale": 2.5}, changed
        after = call(analytics, "summarize", {"values": [1, 2, 3, 4], "how": "sum"})
        assert after.status == 200 and after.body == 25.0, after
        assert after.headers.get("X-Parameters-Generation") != before.headers.get("X-Parameters-Generation")
        bad = analytics.request("POST", "/parameters/scale", json={"scale": "big"})
        assert bad.status == 422, bad
        assert analytics.request("GET", "/parameters").body == {"scale": 2.5}
    finally:
        restore = analytics.request("POST", "/parameters/scale", json={"scale": 1.0})
        assert restore.status == 200, restore


# ---- normalize(points: Annotated[np.ndarray, NDArray(float64, (None, 2))]) -> np.ndarray ------------------------


def expected_normalized(points):
    columns = list(zip(*points))
    stats = [(statistics.fmean(c), statistics.pstdev(c) or 1.0) for c in columns]
    return [[(v - m) / s for v, (m, s) in zip(row, stats)] for row in points]


@pytest.mark.parametrize("points", [
    [[1, 2], [3, 4], [5, 6]],
    [[0.5, -10], [2.5, 30], [-1, 5], [4, 0]],
    [[1, 5], [1, 6]],  # constant column: std 0 is replaced by 1
    [[7, 8]],
], ids=["ints", "floats", "constant-column", "one-row"])
def test_normalize(analytics, points):
    resp = call(analytics, "normalize", {"points": points})
    assert resp.status == 200, resp
    want = expected_normalized(points)
    got = resp.body
    assert isinstance(got, list) and len(got) == len(want) and all(len(r) == 2 for r in got), got
    for g_row, w_row in zip(got, want):
        for g, w in zip(g_row, w_row):
            assert math.isclose(g, w, abs_tol=1e-12), f"normalize({points}) = {got}, want {want}"


def test_normalize_rejections(analytics):
    assert errors_of(call(analytics, "normalize", {"points": [[1, 2, 3]]})) == [("ndarray_shape", ["body", "points"])]
    assert errors_of(call(analytics, "normalize", {"points": [1, 2]})) == [("ndarray_shape", ["body", "points"])]
    assert errors_of(call(analytics, "normalize", {"points": [[1, 2], [3, 4, 5]]})) == [
        ("ndarray_shape", ["body", "points", 1])]
    assert errors_of(call(analytics, "normalize", {"points": [[1, "a"]]})) == [("ndarray_type", ["body", "points", 0, 1])]


# ---- describe_table(table: pd.DataFrame) -> pd.DataFrame --------------------------------------------------------

TABLE_STATS = {"a": {"count": 3.0, "mean": 2.0, "max": 3.0}, "b": {"count": 3.0, "mean": 5.0, "max": 6.0}}


@pytest.mark.parametrize("table", [
    {"a": [1, 2, 3], "b": [4.0, 5.0, 6.0]},
    {"a": {"r1": 1, "r2": 2, "r3": 3}, "b": {"r1": 4.0, "r2": 5.0, "r3": 6.0}},
    [{"a": 1, "b": 4.0}, {"a": 2, "b": 5.0}, {"a": 3, "b": 6.0}],
], ids=["columns", "to-dict", "records"])
def test_describe_table(analytics, table):
    resp = call(analytics, "describe_table", {"table": table})
    assert resp.status == 200, resp
    assert resp.body == TABLE_STATS, f"{table} -> {resp.body}"


def test_describe_table_missing_values_and_text_columns(analytics):
    resp = call(analytics, "describe_table", {"table": {"a": [1, None, 3], "label": ["x", "y", "z"]}})
    assert resp.status == 200, resp
    assert resp.body == {"a": {"count": 2.0, "mean": 2.0, "max": 3.0}}, resp.body


def test_describe_table_rejections(analytics):
    assert errors_of(call(analytics, "describe_table", {"table": {"a": [1, 2], "b": [1]}})) == [
        ("dataframe_shape", ["body", "table", "b"])]
    assert errors_of(call(analytics, "describe_table", {"table": "a,b\n1,2"})) == [("dataframe_type", ["body", "table"])]


# ---- window_length(window: Window) -> dict ----------------------------------------------------------------------


def test_window_length(analytics):
    resp = call(analytics, "window_length", {"window": {"start": "2024-05-01T00:00:00Z", "end": "2024-05-01T01:30:00Z",
                                                        "label": "morning", "tags": ["a", "b"]}})
    assert resp.status == 200, resp
    assert resp.body == {"label": "morning", "seconds": 5400.0, "tags": ["a", "b"], "end": "2024-05-01T01:30:00+00:00"}


def test_window_length_defaults_offsets_and_unix_time(analytics):
    resp = call(analytics, "window_length", {"window": {"start": "2024-05-01T02:00:00+02:00", "end": 1714527000}})
    assert resp.status == 200, resp
    assert resp.body == {"label": None, "seconds": 5400.0, "tags": [], "end": "2024-05-01T01:30:00+00:00"}, resp.body


def test_window_length_rejections(analytics):
    assert errors_of(call(analytics, "window_length", {"window": {"start": "bad", "end": "2024-05-01T01:30:00Z"}})) == [
        ("datetime_parsing", ["body", "window", "start"])]
    assert errors_of(call(analytics, "window_length", {"window": {"start": "2024-05-01T00:00:00Z"}})) == [
        ("missing", ["body", "window", "end"])]
    assert errors_of(call(analytics, "window_length", {"window": {"start": 0, "end": 1, "tags": "x"}})) == [
        ("list_type", ["body", "window", "tags"])]


# ---- serving it with plain python, and its OpenAPI document ------------------------------------------------------


def test_python_service_py_serves_the_same(start_service):
    svc = start_service(SERVICE, python=True)
    resp = call(svc, "summarize", {"values": [2, 4], "how": "max"})
    assert resp.status == 200 and resp.body == 4.0, resp


def test_openapi_golden_and_schemas(analytics, runtime_bin):
    doc, _ = openapi_of(runtime_bin, SERVICE)
    golden = (GOLDEN_DIR / "analytics.openapi.json").read_text(encoding="utf-8")
    assert json.loads(golden) == doc, ("analytics OpenAPI differs from its golden file (MVI_UPDATE_GOLDEN=1 "
                                       "pytest tests/e2e/test_openapi.py regenerates it):\n"
                                       + diff_text(golden, canonical(doc), "golden", "--openapi"))
    served = analytics.request("GET", "/openapi.json")
    assert served.status == 200 and served.body == doc

    schemas = doc["components"]["schemas"]
    assert schemas["Aggregate"]["enum"] == ["mean", "sum", "max"], schemas["Aggregate"]
    assert schemas["Window"]["required"] == ["start", "end"], schemas["Window"]

    def body_props(ep):
        return doc["paths"][f"/{ep}"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]

    summarize = body_props("summarize")
    assert summarize["how"]["default"] == "mean" and "$ref" in json.dumps(summarize["how"]), summarize["how"]
    points = body_props("normalize")["points"]
    assert points["type"] == "array" and points["items"]["minItems"] == points["items"]["maxItems"] == 2, points
    assert points["items"]["items"] == {"type": "number"}, points
    assert "anyOf" in body_props("describe_table")["table"], body_props("describe_table")
    assert doc["paths"]["/summarize"]["post"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "number"}
    scale = doc["paths"]["/parameters/scale"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert scale["properties"]["scale"]["type"] == "number", scale
    assert scale["properties"]["scale"]["description"] == "Multiplies every statistic", scale
