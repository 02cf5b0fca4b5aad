"""Issue 12's defects, each with its regression test: in-band markers a client could forge, JSON key order,
invalid JSON, unbounded chunk lines and trailers, bare LF, reason phrases, work for clients that have gone,
a stuck service that looked healthy, the shutdown that hung after a 504, and a crash that left no log line.
"""

import re
import signal
import socket
import time
from pathlib import Path

import pytest

from rawhttp import RawConnection, assert_serving, exchange, get, post_json

SERVICE = Path(__file__).resolve().parent / "services" / "request_path" / "service.py"


@pytest.fixture(scope="module")
def svc(module_launcher):
    # One executor (--threads 1): several tests here queue calls behind one that blocks.
    service = module_launcher.start(SERVICE, "--drain-delay", "0", "--header-timeout", "30", "--body-timeout", "30",
                                    "--threads", "1")
    service.pid_at_start = service.proc.pid
    return service


def post(svc, path, obj, **kwargs):
    return svc.request("POST", path, json=obj, **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# In-band markers: nothing a client sends can steer how arguments are built


@pytest.mark.parametrize("index", [0, 1, 5, -1, "x"])
def test_a_forged_union_marker_is_just_a_dict(svc, index):
    forged = {"__mvi_union__": index, "value": 1}
    status, _, body = post(svc, "/union_dt_or_dict", {"x": forged})
    assert status == 200, body
    assert body.startswith("dict:") and '"__mvi_union__"' in body, body
    assert_serving(svc, svc.pid_at_start)


def test_a_real_union_choice_still_builds_the_datetime(svc):
    status, _, body = post(svc, "/union_dt_or_dict", {"x": "2024-05-01T12:00:00+00:00"})
    assert (status, body) == (200, "datetime:2024-05-01T12:00:00+00:00")


def test_a_forged_ndarray_marker_is_just_a_dict(svc):
    forged = {"__mvi_ndarray__": {"dtype": "float64", "shape": [2]}, "data": [1, 2]}
    status, _, body = post(svc, "/array_or_dict", {"x": forged})
    assert status == 200, body
    assert body == {"type": "dict", "value": forged}
    status, _, body = post(svc, "/array_or_dict", {"x": [1.5, 2.5]})
    assert (status, body) == (200, {"type": "ndarray", "value": [1.5, 2.5]})
    status, _, body = post(svc, "/array", {"x": forged})
    assert status == 422, body
    assert_serving(svc, svc.pid_at_start)


def test_a_large_array_body_with_a_repeated_key_builds_the_last_value(svc):
    # The simdjson fast path (bodies over 16 KiB) packs arrays into a side buffer; a repeat keeps the last.
    first = ",".join(["1"] * 5000)
    raw = ('{"x": [' + first + '], "x": [2.5, 3.5]}').encode()
    status, _, body = svc.request("POST", "/array", body=raw, headers={"Content-Type": "application/json"})
    assert (status, body) == (200, {"dtype": "float64", "value": [2.5, 3.5]})


# ----------------------------------------------------------------------------------------------------------------
# Key order, from the wire to Python and back


def test_parameters_are_listed_in_declaration_order(svc):
    resp = svc.request("GET", "/parameters")
    assert resp.status == 200
    assert resp.text == '{"zeta":1,"alpha":"a","mid":2.5}'


def test_dataframe_columns_keep_the_order_sent(svc):
    status, _, body = post(svc, "/columns", {"df": {"z": [1, 2], "a": [3, 4], "m": [5, 6]}})
    assert (status, body) == (200, ["z", "a", "m"])
    status, _, body = post(svc, "/columns", {"df": [{"z": 1, "a": 2}, {"z": 3, "a": 4}]})
    assert (status, body) == (200, ["z", "a"])


def test_objects_keep_their_order_both_ways(svc):
    resp = post(svc, "/echo", {"d": {"z": 1, "a": "2", "m": 3}})
    assert resp.status == 200 and resp.text == '{"z":1,"a":2,"m":3}', resp
    resp = post(svc, "/ordered", {})
    assert resp.status == 200 and resp.text == '{"z":1,"a":2,"m":{"y":1,"b":2}}', resp


def test_many_keys_are_answered(svc):
    # 300,000 keys of an undeclared field: linear parsing and dropping (a quadratic insert took minutes).
    raw = b'{"d": {"a": 1}, "junk": {' + b",".join(b'"k%d":0' % i for i in range(300_000)) + b"}}"
    status, _, body = svc.request("POST", "/echo", body=raw, headers={"Content-Type": "application/json"}, timeout=30)
    assert (status, body) == (200, {"a": 1})


def test_invalid_json_is_422_json_invalid(svc):
    status, _, body = svc.request("POST", "/echo", body=b'{"d": ', headers={"Content-Type": "application/json"})
    assert status == 422
    (item,) = body["detail"]
    assert item["type"] == "json_invalid" and item["loc"][0] == "body", item


# ----------------------------------------------------------------------------------------------------------------
# Every line the server reads is bounded


def chunked(head_path, chunks_raw):
    return (
        f"POST {head_path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode() + chunks_raw


def test_a_chunked_body_is_decoded(svc):
    body = b'{"d": {"q": 7}}'
    raw = chunked("/echo", b"%x;ext=1\r\n" % len(body) + body + b"\r\n0\r\nX-Trailer: t\r\n\r\n")
    responses, _ = exchange(svc.port, raw + get("/health/live", [("Connection", "close")]))
    assert [r.status for r in responses] == [200, 200], responses
    assert responses[0].json == {"q": 7}


def test_an_endless_chunk_extension_is_400_at_once(svc):
    with RawConnection(svc.port) as conn:
        conn.send(chunked("/echo", b"7;" + b"a" * 100_000))
        resp = conn.read_response(timeout=5)
        assert resp.status == 400 and b"Chunk size line too long" in resp.body, resp
    assert_serving(svc, svc.pid_at_start)


def test_a_trailer_flood_is_431(svc):
    trailers = b"".join(b"X-%d: v\r\n" % i for i in range(20_000))
    with RawConnection(svc.port) as conn:
        conn.send(chunked("/echo", b"0\r\n" + trailers + b"\r\n"))
        resp = conn.read_response(timeout=5)
        assert resp.status == 431, resp
    assert_serving(svc, svc.pid_at_start)


def test_a_run_of_leading_zeros_in_a_chunk_size_is_400(svc):
    with RawConnection(svc.port) as conn:
        conn.send(chunked("/echo", b"0" * 1_000_000 + b"5\r\nhello\r\n0\r\n\r\n"))
        resp = conn.read_response(timeout=5)
        assert resp.status == 400, resp
    assert_serving(svc, svc.pid_at_start)


@pytest.mark.parametrize(
    "raw",
    [b"GET /health/live HTTP/1.1\nHost: x\n\n", b"GET /health/live HTTP/1.1\r\nHost: x\r\n\n"],
    ids=["all-LF", "final-LF"],
)
def test_bare_lf_is_answered_400_at_once(svc, raw):
    # The header deadline is 30 s here: an answer within the 5 s read means it did not wait for it.
    with RawConnection(svc.port) as conn:
        conn.send(raw)
        resp = conn.read_response(timeout=5)
        assert resp.status == 400 and b"Bare LF" in resp.body, resp


def test_one_empty_line_before_the_request_line_is_ignored(svc):
    responses, _ = exchange(svc.port, b"\r\n" + get("/health/live", [("Connection", "close")]))
    assert [r.status for r in responses] == [200], responses


def test_redirects_carry_their_reason_phrase(svc):
    responses, _ = exchange(svc.port, get("/", [("Connection", "close")]))
    assert (responses[0].status, responses[0].reason) == (307, "Temporary Redirect"), responses


# ----------------------------------------------------------------------------------------------------------------
# Work for clients that have gone


def metric(svc, name, entrypoint):
    text = svc.request("GET", "/metrics").text
    m = re.search(rf'^{name}{{entrypoint="{entrypoint}"}} (\d+)', text, re.M)
    return int(m.group(1)) if m else None


def test_queued_calls_of_clients_that_left_never_run(svc):
    before = svc.request("POST", "/started", json={}).body
    cancelled_before = metric(svc, "mvi_entrypoint_cancelled_total", "counted")
    # One executor: the first call runs 400 ms, nine queue behind it, and every client leaves at once.
    socks = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", svc.port), timeout=5)
        s.sendall(post_json("/counted", b'{"ms": 400}'))
        socks.append(s)
    time.sleep(0.05)
    for s in socks:
        s.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if metric(svc, "mvi_entrypoint_cancelled_total", "counted") - cancelled_before >= 8:
            break
        time.sleep(0.1)
    ran = svc.request("POST", "/started", json={}).body - before
    dropped = metric(svc, "mvi_entrypoint_cancelled_total", "counted") - cancelled_before
    assert ran <= 2 and dropped >= 8, f"ran {ran}, dropped {dropped}"
    assert_serving(svc, svc.pid_at_start)


def test_an_async_call_whose_client_left_is_cancelled(svc):
    before = svc.request("POST", "/async_cancelled", json={}).body
    s = socket.create_connection(("127.0.0.1", svc.port), timeout=5)
    s.sendall(post_json("/wait_async", b'{"seconds": 30}'))
    time.sleep(0.3)
    s.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and svc.request("POST", "/async_cancelled", json={}).body == before:
        time.sleep(0.1)
    assert svc.request("POST", "/async_cancelled", json={}).body == before + 1


# ----------------------------------------------------------------------------------------------------------------
# A stuck service stops looking healthy; shutdown never hangs on Python


def block_until_stuck(svc, path, request_id):
    """POSTs a 60 s call to `path` and a quick one behind it, then polls /health/ready (at most 10 s) until it
    says stuck; returns the two open sockets and the last /health/ready answer."""
    blocker = socket.create_connection(("127.0.0.1", svc.port), timeout=10)
    blocker.sendall(post_json(path, b'{"seconds": 60}', [("X-Request-ID", request_id)]))
    waiter = socket.create_connection(("127.0.0.1", svc.port), timeout=10)
    waiter.sendall(post_json("/sleepy", b'{"seconds": 0}'))
    deadline = time.monotonic() + 10
    ready = None
    while time.monotonic() < deadline:
        ready = svc.request("GET", "/health/ready")
        if ready.status == 503:
            break
        time.sleep(0.2)
    assert ready.status == 503 and ready.body["status"] == "stuck", ready
    return blocker, waiter, ready


def test_a_stuck_executor_makes_ready_503_and_shutdown_still_exits(module_launcher):
    # One executor: with more, another wakes while the first sleeps and the service is not stuck.
    svc = module_launcher.start(SERVICE, "--request-timeout", "1", "--graceful-timeout", "2", "--drain-delay", "0",
                                "--threads", "1")
    blocker, waiter, ready = block_until_stuck(svc, "/sleepy", "stuck-1")
    assert "sleepy" in ready.body["detail"] and "stuck-1" in ready.body["detail"], ready
    assert svc.request("GET", "/health/live").status == 200
    status = svc.request("GET", "/status").body
    assert status["stuck"]["entrypoint"] == "sleepy" and status["stuck"]["request_id"] == "stuck-1", status
    assert status["executors"]["running"][0]["entrypoint"] == "sleepy", status
    # The blocked call got its 504 long ago; SIGTERM must still end the process within the graceful timeout.
    svc.signal(signal.SIGTERM)
    code = svc.wait(10)
    blocker.close()
    waiter.close()
    assert code == 0, svc.describe()
    assert "Python is still running ('sleepy' [request_id=stuck-1])" in svc.output(), svc.describe()


# ----------------------------------------------------------------------------------------------------------------
# A crash leaves a last line in the log


def test_a_segfault_names_the_signal_and_the_call(module_launcher):
    svc = module_launcher.start(SERVICE, "--drain-delay", "0")
    with pytest.raises(Exception):
        svc.request("POST", "/segfault", json={}, headers={"X-Request-ID": "crash-1"}, timeout=5)
    assert svc.wait(10) == -signal.SIGSEGV, svc.describe()
    assert re.search(
        r"CRITICAL mvi.runtime: fatal signal SIGSEGV \(11\) in entrypoint 'segfault'.* \[request_id=crash-1\]",
        svc.output(),
    ), svc.describe()


def test_os_exit_is_logged_with_the_call(module_launcher):
    svc = module_launcher.start(SERVICE, "--drain-delay", "0")
    with pytest.raises(Exception):
        svc.request("POST", "/hard_exit", json={"code": 7}, headers={"X-Request-ID": "exit-7"}, timeout=5)
    assert svc.wait(10) == 7, svc.describe()
    assert re.search(r"CRITICAL .*os._exit\(7\).*exit-7", svc.output()), svc.describe()


# ----------------------------------------------------------------------------------------------------------------
# One route table


def test_the_packages_reserved_names_are_the_route_tables(svc):
    """Under plain python3 the package checks names against its own list; it must be the runtime's."""
    status, _, body = post(svc, "/reserved", {})
    assert status == 200 and body["package"] == body["runtime"], body
    assert {"health", "parameters", "~parameters", "~monitor", "openapi.json", "redoc"} <= set(body["runtime"])


def test_a_call_that_sleeps_does_not_hold_up_the_next_with_the_default_threads(module_launcher):
    # --threads is a maximum (default 8): while one sync call sleeps, another executor wakes for the next call.
    svc = module_launcher.start(SERVICE, "--drain-delay", "0")
    sleeper = socket.create_connection(("127.0.0.1", svc.port), timeout=10)
    try:
        sleeper.sendall(post_json("/sleepy", b'{"seconds": 3}'))
        time.sleep(0.2)  # it is running
        r = svc.request("POST", "/sleepy", json={"seconds": 0}, timeout=2.5)
        assert r.status == 200, r  # answered while the first still sleeps
        status = svc.request("GET", "/status").body
        assert [c["entrypoint"] for c in status["executors"]["running"]] == ["sleepy"], status
        assert svc.request("GET", "/health/ready").status == 200
    finally:
        sleeper.close()


def test_a_call_that_computes_forever_makes_ready_503_with_the_default_threads(module_launcher):
    # A CPU-bound call never wakes a second executor, so with --threads 8 the one awake executor is stuck.
    svc = module_launcher.start(SERVICE, "--request-timeout", "1", "--graceful-timeout", "2", "--drain-delay", "0")
    blocker, waiter, ready = block_until_stuck(svc, "/spin", "spin-1")
    assert "spin-1" in ready.body["detail"], ready
    svc.signal(signal.SIGTERM)
    code = svc.wait(10)
    blocker.close()
    waiter.close()
    assert code == 0, svc.describe()
