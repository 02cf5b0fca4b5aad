"""Connection and time limits (SPEC §8): requests per connection, the request deadline (504), the queue in front of
Python (503 + Retry-After), the connection cap, and the header, body and keep-alive timeouts. Each test starts its
own service (tests/e2e/services/hardening_basic) with the limit under test set low, and checks that the process
keeps answering /health/live throughout.
"""

import threading
import time
from pathlib import Path

from rawhttp import (
    RawConnection,
    assert_serving,
    exchange,
    get,
    parse_one,
    post_json,
    request_bytes,
)

SERVICE = Path(__file__).resolve().parent / "services" / "hardening_basic" / "service.py"


class LivenessProbe:
    """Polls GET /health/live every 0.1 s on fresh connections in a thread; records every failure."""

    def __init__(self, port):
        self.port = port
        self.failures = []
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                responses, _ = exchange(self.port, get("/health/live", [("Connection", "close")]), timeout=2)
                if [r.status for r in responses] == [200]:
                    self.answered += 1
                else:
                    self.failures.append(repr(responses))
            except Exception as exc:  # reported by the test
                self.failures.append(repr(exc))
            if time.monotonic() - started > 1.0:
                self.failures.append(f"/health/live took {time.monotonic() - started:.2f} s")
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def check(self):
        assert not self.failures, f"/health/live failed meanwhile: {self.failures[:5]}"
        assert self.answered >= 2, f"/health/live answered only {self.answered} times meanwhile"


def start(start_service, *args):
    svc = start_service(SERVICE, "--drain-delay", "0", *args)
    return svc, svc.proc.pid


def test_max_requests_per_connection(start_service):
    svc, pid = start(start_service, "--max-requests-per-connection", "3")
    with RawConnection(svc.port) as conn:
        seen = []
        for _ in range(3):
            conn.send(get("/health/live"))
            resp = conn.read_response(3)
            seen.append((resp.status, resp.header("Connection")))
        assert seen[:2] == [(200, None), (200, None)], seen
        assert seen[2] == (200, "close"), f"the third response must say Connection: close: {seen}"
        assert conn.wait_closed(3), "the connection stayed open after the third response"
    # pipelined: the fourth request on one connection is never answered
    responses, closed = exchange(svc.port, get("/health/live") * 4)
    assert [r.status for r in responses] == [200, 200, 200] and closed, responses
    assert responses[-1].closes
    assert_serving(svc, pid)


def test_request_deadline_answers_504_once_and_the_next_request_works(start_service):
    svc, pid = start(start_service, "--request-timeout", "0.5", "--threads", "2")
    with RawConnection(svc.port) as conn:
        started = time.monotonic()
        conn.send(post_json("/sleep_for", {"seconds": 2}))
        resp = conn.read_response(5)
        elapsed = time.monotonic() - started
        assert resp.status == 504, resp
        assert isinstance(resp.json.get("detail"), str), resp
        assert 0.4 <= elapsed < 1.5, f"the 504 came after {elapsed:.2f} s with --request-timeout 0.5"
        # The late result (at 2 s) must never reach the wire.
        assert conn.quiet_for(2.0) or conn.closed_by_peer, f"bytes after the 504: {conn.buffer!r}"
        assert not conn.buffer, f"a second response followed the 504: {conn.buffer!r}"
    responses, _ = exchange(svc.port, post_json("/echo", {"n": 7}, [("Connection", "close")]))
    assert [r.status for r in responses] == [200] and responses[0].json["n"] == 7, responses
    assert_serving(svc, pid)


def test_a_late_result_never_answers_the_next_request_on_the_connection(start_service):
    """After a 504 the connection stays open; the timed-out call's result must not become the next answer."""
    svc, pid = start(start_service, "--request-timeout", "0.5", "--threads", "2")
    with RawConnection(svc.port) as conn:
        conn.send(post_json("/sleep_for", {"seconds": 0.7}, [("X-Request-ID", "late-1")]))  # returns at 0.7 s
        first = conn.read_response(5)
        assert first.status == 504 and first.header("X-Request-ID") == "late-1", first
        conn.send(post_json("/sleep_for", {"seconds": 0.4}))  # 0.5 s to 0.9 s: pending when the first returns
        second = conn.read_response(5)
        assert second.status == 200 and second.json == 0.4, f"the late result of the first call answered: {second}"
    assert_serving(svc, pid)


def test_request_deadline_detail_names_the_configured_timeout(start_service):
    svc, _ = start(start_service, "--request-timeout", "0.5")
    responses, _ = exchange(svc.port, post_json("/sleep_for", {"seconds": 1}, [("Connection", "close")]), timeout=5)
    assert [r.status for r in responses] == [504], responses
    detail = responses[0].json["detail"]
    assert "0.5" in detail, f"--request-timeout 0.5, but the 504 says: {detail!r}"


def test_queue_full_is_503_with_retry_after(start_service):
    svc, pid = start(start_service, "--queue-limit", "1", "--threads", "1")  # one executor: a call blocks it
    with LivenessProbe(svc.port) as probe:
        conns = [RawConnection(svc.port) for _ in range(5)]
        try:
            for i, conn in enumerate(conns):
                conn.send(post_json("/sleep_for", {"seconds": 0.8}, [("Connection", "close")]))
                time.sleep(0.3 if i == 0 else 0.05)  # the first is running before the others arrive
            ready = exchange(svc.port, get("/health/ready", [("Connection", "close")]))[0]
            results = [conn.read_response(5) for conn in conns]
        finally:
            for conn in conns:
                conn.close()
    statuses = [r.status for r in results]
    # one running, one queued, the rest refused at once
    assert statuses == [200, 200, 503, 503, 503], statuses
    for r in results[2:]:
        assert r.header("Retry-After") == "1", r
        assert "detail" in r.json, r
    assert [r.status for r in ready] == [503] and ready[0].json == {"status": "busy"}, ready
    probe.check()
    assert_serving(svc, pid)


def test_connection_cap_answers_503_and_closes(start_service):
    svc, pid = start(start_service, "--max-connections", "2")
    first, second = RawConnection(svc.port), RawConnection(svc.port)
    try:
        first.send(get("/health/live"))
        assert first.read_response(3).status == 200
        second.send(get("/health/live"))
        assert second.read_response(3).status == 200

        third = RawConnection(svc.port)
        try:
            assert third.wait_closed(3), "the third connection was not closed"
            raw = third.buffer
        finally:
            third.close()
        parsed = parse_one(raw, closed=True)
        assert parsed is not None, f"no complete response on the third connection: {raw!r}"
        resp, rest = parsed
        assert resp.status == 503, raw
        assert rest == b"", f"Content-Length does not match the body: {len(rest)} bytes left over in {raw!r}"
        assert resp.json.get("detail"), raw
        assert resp.header("Retry-After"), raw

        second.close()
        time.sleep(0.2)
        responses, _ = exchange(svc.port, get("/health/live", [("Connection", "close")]))
        assert [r.status for r in responses] == [200], f"a new connection after closing one: {responses!r}"
    finally:
        first.close()
        second.close()
    time.sleep(0.2)
    assert_serving(svc, pid)


def test_header_timeout_closes_a_half_sent_header(start_service):
    svc, pid = start(start_service, "--header-timeout", "1")
    with LivenessProbe(svc.port) as probe:
        conns = []
        for partial in (b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Half: ", b""):
            conn = RawConnection(svc.port)
            conn.send(partial)
            conns.append(conn)
        started = time.monotonic()
        closed_at = []
        for conn in conns:
            assert conn.wait_closed(3.5 - (time.monotonic() - started)), "a slow header was not closed"
            closed_at.append(time.monotonic() - started)
            conn.close()
        # trickling: one byte every 0.3 s does not extend the deadline
        trickle = RawConnection(svc.port)
        t0 = time.monotonic()
        for byte in b"GET /health/live HTTP/1.1\r\nHost: x\r\n":
            if not trickle.send(bytes([byte])) or trickle.wait_closed(0.3):
                break
        trickle_closed = trickle.wait_closed(3) and time.monotonic() - t0
        trickle.close()
    assert all(0.8 <= t <= 2.0 for t in closed_at), f"closed after {closed_at} s with --header-timeout 1"
    assert trickle_closed and trickle_closed <= 2.0, f"a trickled header survived {trickle_closed} s"
    probe.check()
    assert_serving(svc, pid)


def test_keep_alive_timeout_closes_an_idle_connection(start_service):
    svc, pid = start(start_service, "--keep-alive-timeout", "1")
    with RawConnection(svc.port) as conn:
        conn.send(get("/health/live"))
        assert conn.read_response(3).status == 200
        time.sleep(0.5)  # within the keep-alive timeout: the connection is still usable
        conn.send(get("/health/live"))
        assert conn.read_response(3).status == 200
        started = time.monotonic()
        assert conn.wait_closed(3), "an idle kept-alive connection stayed open"
        elapsed = time.monotonic() - started
        assert not conn.buffer, f"bytes before the close: {conn.buffer!r}"
    assert 0.8 <= elapsed <= 2.0, f"closed after {elapsed:.2f} s with --keep-alive-timeout 1"
    assert_serving(svc, pid)


def test_body_timeout_closes_a_stalled_body(start_service):
    svc, pid = start(start_service, "--body-timeout", "1")
    with RawConnection(svc.port) as conn:
        conn.send(request_bytes("POST", "/echo", [("Content-Type", "application/json"), ("Content-Length", "100")], b'{"n":'))
        started = time.monotonic()
        assert conn.wait_closed(4), "a stalled body was not closed"
        elapsed = time.monotonic() - started
    assert 0.8 <= elapsed <= 2.0, f"closed after {elapsed:.2f} s with --body-timeout 1"
    assert_serving(svc, pid)
