"""Large ndarray bodies (over 16 KiB) take the simdjson fast path; results must equal the general path's, in
process and in a worker (where the large ones arrive through shared memory)."""
import json
import random

import pytest

from conftest import SERVICES_DIR


# In isolated mode the packed arrays cross to the worker: from 64 KiB up as a memfd the worker maps.
@pytest.fixture(scope="module", params=[(), ("--workers", "1")], ids=["in-process", "workers"])
def arrays(module_launcher, request):
    return module_launcher(SERVICES_DIR / "large_arrays" / "service.py", *request.param)


def post(svc, path, body):
    return svc.request("POST", path, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})


def test_100k_floats_are_summed_exactly(arrays):
    rng = random.Random(7)
    values = [rng.uniform(-1e6, 1e6) for _ in range(100_000)]
    resp = post(arrays, "/total", {"values": values, "label": "big"})
    assert resp.status == 200, resp
    assert resp.body["dtype"] == "float64" and resp.body["shape"] == [100_000], resp.body
    assert resp.body["sum"] == pytest.approx(sum(values), rel=1e-12), resp.body
    assert resp.body["writable"] is True and resp.body["label"] == "big", resp.body


def test_large_integer_arrays_infer_int64(arrays):
    values = list(range(-20_000, 20_000))
    resp = post(arrays, "/total", {"values": values})
    assert resp.status == 200 and resp.body["dtype"] == "int64" and resp.body["sum"] == sum(values), resp


def test_large_matrix_with_declared_float32_and_shape(arrays):
    points = [[i, i + 0.5, -i] for i in range(5000)]
    resp = post(arrays, "/rows", {"points": points})
    assert resp.status == 200, resp
    assert resp.body["dtype"] == "float32" and resp.body["shape"] == [5000, 3], resp.body


def test_large_matrix_with_the_wrong_shape_is_422(arrays):
    resp = post(arrays, "/rows", {"points": [[1.0, 2.0] for _ in range(5000)]})
    assert resp.status == 422, resp
    assert resp.body["detail"][0]["type"] == "ndarray_shape" and resp.body["detail"][0]["loc"] == ["body", "points"]


@pytest.mark.parametrize("bad", ["x", None, {"a": 1}, [1.0]], ids=["string", "null", "object", "ragged"])
def test_a_large_array_with_a_stray_value_falls_back_and_is_422(arrays, bad):
    values = [1.5] * 5000
    values[4321] = bad
    resp = post(arrays, "/total", {"values": values})
    assert resp.status == 422, resp
    assert resp.body["detail"][0]["loc"][:2] == ["body", "values"], resp.body


def test_invalid_json_in_a_large_body_is_422_json_invalid(arrays):
    body = b'{"values": [' + b"1.0," * 10_000 + b"]}"
    resp = arrays.request("POST", "/total", body=body, headers={"Content-Type": "application/json"})
    assert resp.status == 422, resp
    assert resp.body["detail"][0]["type"] == "json_invalid", resp.body
