"""Large bodies of known length (over 16 KiB) are read straight into the request, past Beast's body parser
(src/http/server.cpp, read_body_directly): the framing rules must hold there exactly as for small bodies."""

import json
import time
from pathlib import Path

import pytest

from rawhttp import RawConnection, assert_serving, exchange, get, post_json, request_bytes

SERVICE = Path(__file__).resolve().parent / "services" / "hardening_basic" / "service.py"
LABEL = "x" * 300_000  # well past the 16 KiB threshold and the server's 64 KiB read buffer


@pytest.fixture(scope="module")
def svc(module_launcher):
    service = module_launcher.start(SERVICE, "--drain-delay", "0", "--body-timeout", "2")
    service.pid_at_start = service.proc.pid
    return service


def large_request(n, headers=()):
    return post_json("/echo", {"n": n, "label": LABEL}, headers)


def test_a_large_body_pipelined_between_small_requests_is_answered_in_order(svc):
    data = get("/hello?name=first") + large_request(2) + request_bytes("GET", "/hello?name=third", [("Connection", "close")])
    responses, closed = exchange(svc.port, data, timeout=10)
    assert [r.status for r in responses] == [200, 200, 200], responses
    assert responses[0].json == "hello first" and responses[2].json == "hello third", responses
    assert responses[1].json == {"n": 2, "label": LABEL, "ratio": 1.0}
    assert closed


def test_two_large_bodies_in_one_write_are_both_answered(svc):
    responses, closed = exchange(svc.port, large_request(1) + large_request(2, [("Connection", "close")]), timeout=10)
    assert [(r.status, r.json["n"]) for r in responses] == [(200, 1), (200, 2)], responses
    assert all(r.json["label"] == LABEL for r in responses)
    assert closed


def test_a_large_body_sent_in_slow_pieces_arrives_whole(svc):
    data = large_request(7)
    with RawConnection(svc.port, timeout=10) as conn:
        # The header and a few bytes first, then uneven pieces with pauses, the last one a single byte.
        cuts = [0, len(data) - len(LABEL) - 20, 100_000, 100_001, 250_000, len(data) - 1, len(data)]
        cuts = sorted(set(cuts))
        for a, b in zip(cuts, cuts[1:]):
            conn.send(data[a:b])
            time.sleep(0.05)
        resp = conn.read_response(10)
    assert resp.status == 200 and resp.json == {"n": 7, "label": LABEL, "ratio": 1.0}, resp


def test_expect_100_continue_with_a_large_body(svc):
    body = json.dumps({"n": 3, "label": LABEL}).encode()
    head = request_bytes("POST", "/echo", [("Content-Type", "application/json"), ("Expect", "100-continue"),
                                          ("Content-Length", str(len(body)))])
    with RawConnection(svc.port, timeout=10) as conn:
        conn.send(head)
        interim = conn.read_response(3, skip_interim=False)
        assert interim.status == 100, interim
        conn.send(body)
        final = conn.read_response(10)
    assert final.status == 200 and final.json["n"] == 3 and final.json["label"] == LABEL, final


def test_a_large_body_cut_short_by_the_client_closes_without_an_answer(svc):
    data = large_request(4)
    with RawConnection(svc.port, timeout=5) as conn:
        conn.send(data[: len(data) // 2])
        conn.sock.shutdown(1)  # SHUT_WR: the client will send nothing more
        assert conn.wait_closed(4), "the server kept a connection whose body can never complete"
        assert conn.buffer == b"", f"no answer may be sent for an incomplete body: {conn.buffer[:300]!r}"
    assert_serving(svc, svc.pid_at_start)


def test_a_stalled_large_body_is_closed_at_the_body_deadline(svc):
    data = large_request(5)
    with RawConnection(svc.port, timeout=6) as conn:
        conn.send(data[: len(data) - 10])
        started = time.monotonic()
        assert conn.wait_closed(5), "a stalled large body was not closed"
        elapsed = time.monotonic() - started
        assert conn.buffer == b"", f"no answer may be sent for an incomplete body: {conn.buffer[:300]!r}"
    assert 1.5 <= elapsed <= 3.5, f"closed after {elapsed:.2f} s with --body-timeout 2"
    assert_serving(svc, svc.pid_at_start)


def test_a_large_body_with_invalid_json_is_422_json_invalid(svc):
    body = b'{"n": 1, "label": "' + b"y" * 100_000 + b'"'  # the closing brace is missing
    responses, _ = exchange(svc.port, post_json("/echo", body, [("Connection", "close")]), timeout=10)
    assert [r.status for r in responses] == [422], responses
    assert responses[0].json["detail"][0]["type"] == "json_invalid", responses
