"""Protocol hardening over raw sockets (SPEC §8): size limits, request-smuggling shapes, request targets, early answers,
keep-alive and pipelining. Every case sends exact bytes (tests/e2e/rawhttp.py) and checks the status, a JSON
{"detail": ...} body, that exactly one response goes out (a request hidden behind the rejected one is never
answered), that the connection is closed after a rejection, and that the same process still answers /health/live.

One service (tests/e2e/services/hardening_basic) with the default limits serves the whole module.
"""

import time
from pathlib import Path

import pytest

from rawhttp import (
    RawConnection,
    assert_serving,
    exchange,
    get,
    leaks,
    post_json,
    request_bytes,
)

SERVICE = Path(__file__).resolve().parent / "services" / "hardening_basic" / "service.py"

# A complete request placed where the server must never parse it as one. If it were answered, a second response
# ({"status": "ready"}) would appear on the wire.
HIDDEN = b"GET /health/ready HTTP/1.1\r\nHost: hidden\r\n\r\n"


@pytest.fixture(scope="module")
def svc(module_launcher):
    service = module_launcher.start(SERVICE, "--drain-delay", "0")
    service.pid_at_start = service.proc.pid
    return service


def rejected_once(svc, data, status, timeout=5.0):
    """Send `data`; exactly one response with `status` and a JSON detail, then the server closes; still serving."""
    started = time.monotonic()
    responses, closed = exchange(svc.port, data, timeout=timeout)
    elapsed = time.monotonic() - started
    assert len(responses) == 1, (
        f"expected exactly one response, got {len(responses)}: {responses!r}\nsent: {data[:400]!r}"
    )
    resp = responses[0]
    expected = status if isinstance(status, tuple) else (status,)
    assert resp.status in expected, f"expected {status}, got {resp.status}: {resp!r}\nsent: {data[:400]!r}"
    assert resp.header("Content-Type", "").startswith("application/json"), resp
    body = resp.json
    assert isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"], body
    assert closed, f"the connection stayed open after a {resp.status} rejection\nsent: {data[:400]!r}"
    assert not leaks(resp), f"the response leaks {leaks(resp)}: {resp.raw!r}"
    assert_serving(svc, svc.pid_at_start)
    return resp, elapsed


# ----------------------------------------------------------------------------------------------------------------
# Size limits


def test_request_line_over_8k_is_414(svc):
    rejected_once(svc, get("/" + "a" * 8300) + HIDDEN, 414)


def test_header_block_over_16k_is_431(svc):
    # One 17,000-byte field: the whole block (blank line included) arrives in one write.
    data = request_bytes("GET", "/health/live", [("X-Big", "b" * 17000)])
    rejected_once(svc, data + HIDDEN, 431)


def test_header_block_far_over_16k_is_431(svc):
    data = request_bytes("GET", "/health/live", [(f"X-Big-{i}", "b" * 8000) for i in range(8)])
    rejected_once(svc, data + HIDDEN, 431)


def test_more_than_100_header_fields_is_431(svc):
    data = request_bytes("GET", "/health/live", [(f"X-F{i}", "1") for i in range(101)])
    rejected_once(svc, data + HIDDEN, 431)


def test_100_header_fields_are_accepted(svc):
    # Host plus 99 others = 100 fields: at the limit, not over it.
    data = request_bytes("GET", "/health/live", [(f"X-F{i}", "1") for i in range(98)] + [("Connection", "close")])
    responses, _ = exchange(svc.port, data)
    assert [r.status for r in responses] == [200], responses


def test_content_length_over_the_limit_is_413_before_the_body(svc):
    # 100 MB announced, not one body byte sent: the answer must not wait for the body.
    data = request_bytes("POST", "/echo", [("Content-Type", "application/json"), ("Content-Length", str(100 * 1024 * 1024))])
    _, elapsed = rejected_once(svc, data, 413, timeout=3)
    assert elapsed < 1.0, f"the 413 took {elapsed:.2f} s: it must come from the Content-Length, at once"


def test_content_length_over_the_limit_never_parses_what_follows(svc):
    data = request_bytes("POST", "/echo", [("Content-Length", str(100 * 1024 * 1024))]) + HIDDEN
    rejected_once(svc, data, 413)


def test_chunked_body_over_the_limit_is_413(svc):
    chunk = b"1" * (1024 * 1024)
    body = b"".join(b"100000\r\n" + chunk + b"\r\n" for _ in range(9)) + b"0\r\n\r\n"  # 9 MiB > 8 MiB
    data = request_bytes("POST", "/anything", [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")], body)
    rejected_once(svc, data + HIDDEN, 413)


def test_expect_100_continue_with_too_large_length_is_413_without_100(svc):
    data = request_bytes(
        "POST", "/echo", [("Content-Type", "application/json"), ("Expect", "100-continue"), ("Content-Length", "104857600")]
    )
    with RawConnection(svc.port) as conn:
        conn.send(data)
        responses = conn.read_until_closed(3)
        raw = b"".join(r.raw for r in responses)
    assert b"100 Continue" not in raw, f"a 100 Continue was sent for a body that will be refused: {raw!r}"
    assert [r.status for r in responses] == [413], f"expected one 413: {responses!r}"
    assert_serving(svc, svc.pid_at_start)


def test_expect_100_continue_within_the_limit_gets_100_then_the_answer(svc):
    with RawConnection(svc.port) as conn:
        conn.send(request_bytes("POST", "/echo", [("Content-Type", "application/json"), ("Expect", "100-continue"), ("Content-Length", "8")]))
        interim = conn.read_response(3, skip_interim=False)
        assert interim.status == 100, interim
        conn.send(b'{"n": 5}')
        final = conn.read_response(3)
    assert final.status == 200 and final.json == {"n": 5, "label": "x", "ratio": 1.0}, final


# ----------------------------------------------------------------------------------------------------------------
# Transfer-Encoding and Content-Length (request smuggling)

SMUGGLED_CHUNKED_BODY = b"0\r\n\r\n" + HIDDEN


@pytest.mark.parametrize(
    "te_fields",
    [
        [("Transfer-Encoding", "gzip, chunked")],
        [("Transfer-Encoding", "chunked, gzip")],
        [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")],
        [("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
        [("Transfer-Encoding", "xchunked")],
        [("Transfer-Encoding", "identity")],
    ],
    ids=["gzip-chunked", "chunked-gzip", "two-te-headers", "gzip-then-chunked-headers", "xchunked", "identity"],
)
def test_transfer_encoding_other_than_one_final_chunked_is_rejected(svc, te_fields):
    # RFC 9112 §6.1: 501 for a coding the server does not implement; 400 for a malformed field. Either way it closes.
    data = request_bytes("POST", "/echo", [("Content-Type", "application/json"), *te_fields], SMUGGLED_CHUNKED_BODY)
    rejected_once(svc, data, (400, 501))


def test_transfer_encoding_on_http_1_0_is_400(svc):
    data = request_bytes("POST", "/echo", [("Transfer-Encoding", "chunked")], SMUGGLED_CHUNKED_BODY, version="HTTP/1.0")
    rejected_once(svc, data, 400)


@pytest.mark.parametrize("order", ["cl-first", "te-first"])
def test_content_length_with_transfer_encoding_is_400(svc, order):
    fields = [("Content-Length", "4"), ("Transfer-Encoding", "chunked")]
    if order == "te-first":
        fields.reverse()
    rejected_once(svc, request_bytes("POST", "/echo", fields, SMUGGLED_CHUNKED_BODY), 400)


@pytest.mark.parametrize(
    "lengths",
    [["abc"], ["1, 1"], ["1", "2"], ["2", "2"], ["-1"], ["+2"], ["0x2"], ["1 2"], ["99999999999999999999"]],
    ids=["abc", "list-1-1", "two-different", "two-equal", "negative", "plus-sign", "hex", "inner-space", "20-digits"],
)
def test_bad_or_conflicting_content_length_is_400(svc, lengths):
    fields = [("Content-Type", "application/json")] + [("Content-Length", v) for v in lengths]
    rejected_once(svc, request_bytes("POST", "/echo", fields, b"{}" + HIDDEN), 400)


# ----------------------------------------------------------------------------------------------------------------
# Host, header syntax


def test_missing_host_on_http_1_1_is_400(svc):
    rejected_once(svc, request_bytes("GET", "/health/live", host=None) + HIDDEN, 400)


def test_missing_host_on_http_1_0_is_accepted(svc):
    responses, closed = exchange(svc.port, request_bytes("GET", "/health/live", host=None, version="HTTP/1.0"))
    assert [r.status for r in responses] == [200] and closed, responses


def test_duplicate_host_is_400(svc):
    rejected_once(svc, request_bytes("GET", "/health/live", [("Host", "other")]) + HIDDEN, 400)


def test_obs_fold_is_400(svc):
    data = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n"
    rejected_once(svc, data + HIDDEN, 400)


@pytest.mark.parametrize(
    "data",
    [
        b"GET /health/live HTTP/1.1\nHost: x\r\n\r\n",
        b"GET /health/live HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n",
        b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: b\rX-B: c\r\n\r\n",
    ],
    ids=["bare-lf-request-line", "bare-lf-field", "bare-cr"],
)
def test_bare_lf_or_cr_is_400(svc, data):
    rejected_once(svc, data + HIDDEN, 400)


def test_nul_in_a_header_is_400(svc):
    rejected_once(svc, b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n" + HIDDEN, 400)


# ----------------------------------------------------------------------------------------------------------------
# Request targets and paths


@pytest.mark.parametrize(
    "method, target",
    [("GET", "http://x/health/live"), ("GET", "x:80"), ("GET", "*"), ("CONNECT", "x:80"), ("POST", "health/live")],
    ids=["absolute-form", "authority-form", "asterisk-with-get", "connect", "no-leading-slash"],
)
def test_non_origin_form_targets_are_400(svc, method, target):
    rejected_once(svc, request_bytes(method, target) + HIDDEN, 400)


@pytest.mark.parametrize(
    "path",
    [
        "/parameters/a%2Fb",
        "/parameters/a%2fb",
        "/parameters/a%00b",
        "/parameters/a%5Cb",
        "/health/../parameters",
        "/health/./live",
        "/parameters/%2e%2e",
        "/parameters/%2E",
        "/he%2Fllo",
        "/parameters/%zz",
    ],
)
def test_encoded_separators_nul_and_dot_segments_are_400(svc, path):
    responses, _ = exchange(svc.port, get(path, [("Connection", "close")]))
    assert len(responses) == 1, responses
    resp = responses[0]
    assert resp.status == 400, f"GET {path}: {resp!r}"
    assert resp.json == {"detail": "Invalid request path"}, resp
    assert_serving(svc, svc.pid_at_start)


# ----------------------------------------------------------------------------------------------------------------
# Early answers: the body is never read, the connection closes, leftover bytes are never parsed


@pytest.mark.parametrize(
    "method, path, status",
    [("POST", "/no_such_route", 404), ("DELETE", "/echo", 405), ("GET", "/echo", 405)],
    ids=["404", "405-delete", "405-get"],
)
def test_early_answer_before_the_body_never_parses_the_body(svc, method, path, status):
    data = request_bytes(method, path, [("Content-Type", "application/json"), ("Content-Length", str(len(HIDDEN)))], HIDDEN)
    resp, _ = rejected_once(svc, data, status)
    if status == 405:
        assert resp.header("Allow") == "POST", resp


def test_early_404_with_a_large_announced_body_answers_at_once(svc):
    # 1 MB announced (within the limit) and never sent: the 404 does not wait for it.
    data = request_bytes("POST", "/no_such_route", [("Content-Length", "1000000")])
    _, elapsed = rejected_once(svc, data, 404, timeout=3)
    assert elapsed < 1.0, f"the 404 waited {elapsed:.2f} s for a body it does not need"


# ----------------------------------------------------------------------------------------------------------------
# Keep-alive and pipelining


def test_http_1_0_keep_alive_is_answered_with_keep_alive(svc):
    with RawConnection(svc.port) as conn:
        for _ in range(2):
            conn.send(request_bytes("GET", "/health/live", [("Connection", "keep-alive")], version="HTTP/1.0"))
            resp = conn.read_response(3)
            assert resp.status == 200, resp
            assert resp.header("Connection", "").lower() == "keep-alive", f"HTTP/1.0 keep-alive: {resp!r}"
        assert not conn.closed_by_peer


def test_http_1_0_without_keep_alive_closes(svc):
    responses, closed = exchange(svc.port, request_bytes("GET", "/health/live", version="HTTP/1.0"))
    assert [r.status for r in responses] == [200] and closed, responses


def test_three_pipelined_requests_are_answered_in_order(svc):
    data = (
        get("/hello?name=first")
        + post_json("/echo", {"n": 2})
        + request_bytes("GET", "/hello?name=third", [("Connection", "close")])
    )
    responses, closed = exchange(svc.port, data)
    assert [r.status for r in responses] == [200, 200, 200], responses
    assert [r.json for r in responses] == ["hello first", {"n": 2, "label": "x", "ratio": 1.0}, "hello third"], responses
    assert closed and responses[-1].closes


def test_pipelined_request_after_a_rejected_one_is_never_answered(svc):
    data = get("/parameters/a%2Fb") + request_bytes("GET", "/health/live", [("Content-Length", "x")]) + HIDDEN
    responses, closed = exchange(svc.port, data)
    assert [r.status for r in responses] == [400, 400], f"{responses!r}"
    assert closed


# ----------------------------------------------------------------------------------------------------------------
# What responses never carry


def test_no_server_header_and_no_traceback(svc):
    cases = [
        get("/health/live", [("Connection", "close")]),
        post_json("/boom", {}, [("Connection", "close")]),
        get("/nope", [("Connection", "close")]),
        request_bytes("GET", "/" + "a" * 9000),
        request_bytes("POST", "/echo", [("Transfer-Encoding", "gzip")]),
    ]
    for data in cases:
        responses, _ = exchange(svc.port, data)
        assert responses, data[:100]
        for resp in responses:
            assert not leaks(resp), f"{data[:60]!r}: the response leaks {leaks(resp)}: {resp.raw!r}"
    boom = exchange(svc.port, post_json("/boom", {}, [("Connection", "close")]))[0][0]
    assert boom.status == 500 and set(boom.json) == {"detail", "request_id"}, boom
    assert b"hardening-secret-traceback-marker" not in boom.raw, boom


# Every response, early rejections included, says X-Content-Type-Options: nosniff.
NOSNIFF_CASES = {
    "200": get("/health/live", [("Connection", "close")]),
    "404-early": get("/nope", [("Connection", "close")]),
    "400-bad-path": get("/parameters/a%2Fb", [("Connection", "close")]),
    "422": post_json("/echo", {"n": "x"}, [("Connection", "close")]),
    "400-missing-host": request_bytes("GET", "/health/live", host=None),
    "400-obs-fold": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "414": request_bytes("GET", "/" + "a" * 9000),
    "431": request_bytes("GET", "/", [(f"X-{i}", "1") for i in range(120)]),
    "413-content-length": request_bytes("POST", "/echo", [("Content-Length", "104857600")]),
    "501-transfer-encoding": request_bytes("POST", "/echo", [("Transfer-Encoding", "gzip, chunked")], b"0\r\n\r\n"),
}


@pytest.mark.parametrize("case", list(NOSNIFF_CASES))
def test_every_response_has_nosniff(svc, case):
    responses, _ = exchange(svc.port, NOSNIFF_CASES[case])
    assert len(responses) == 1, responses
    resp = responses[0]
    assert resp.header("X-Content-Type-Options") == "nosniff", (
        f"{case}: {resp.status} without X-Content-Type-Options: nosniff\nreceived: {resp.raw!r}"
    )
    assert resp.has("X-Request-ID"), f"{case}: no X-Request-ID: {resp.raw!r}"
