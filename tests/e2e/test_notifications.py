"""Notifications (SPEC §6, §4, docs/logging.md#notifications-as-server-sent-events): the store behind
GET/DELETE /notifications (repeat counter, newest first, severity/since/limit filters, 422s), the INFO notification
of a parameter change, and GET /notifications/stream (SSE format, latency, clients leaving, SIGTERM).

Every stream is read with streaming.StreamClient (raw socket, bounded reads).
"""

import signal
import time
import uuid
from pathlib import Path

import pytest

from streaming import StreamClient, sse_events

SERVICE = Path(__file__).resolve().parent / "services" / "notify_sse" / "service.py"
SSE_LATENCY = 1.0  # seconds from notify() to the event at a subscriber


# ----------------------------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture(scope="module")
def svc(module_launcher):
    return module_launcher.start(SERVICE, "--name", "notes", "--service-version", "2.1.0")


@pytest.fixture
def clean(svc):
    """The module's service with an empty notification store."""
    resp = svc.request("DELETE", "/notifications")
    assert resp.status == 200, f"DELETE /notifications: {resp}"
    return svc


def alert(svc, msg, severity=0, rid=None):
    headers = {"X-Request-ID": rid} if rid else None
    resp = svc.request("POST", "/alert", json={"msg": msg, "severity": severity}, headers=headers)
    assert resp.status == 200 and resp.body == "sent", f"POST /alert: {resp}\n{svc.describe()}"
    return resp


def listed(svc, query=""):
    resp = svc.request("GET", "/notifications" + (f"?{query}" if query else ""))
    assert resp.status == 200 and isinstance(resp.body, list), f"GET /notifications?{query}: {resp}"
    return resp.body


def msgs(items):
    return [n["msg"] for n in items]


def open_sse(svc):
    stream = StreamClient(svc.port, "/notifications/stream", headers={"Accept": "text/event-stream"})
    assert stream.status == 200, f"GET /notifications/stream: {stream.status} {stream.headers!r}"
    assert stream.headers.get("content-type", "").startswith("text/event-stream"), f"{stream.headers!r}"
    assert stream.wait_for("retry:", timeout=2.0), f"no preamble on the SSE stream: {stream.text!r}"
    return stream


def event_for(stream, msg, timeout=SSE_LATENCY, counter=1):
    """Wait (bounded) for the event carrying `msg` with `counter`; returns it or None."""
    def found(text):
        return any(isinstance(e["data"], dict) and e["data"].get("msg") == msg and e["data"].get("counter") == counter
                   for e in sse_events(text))

    if not stream.read_until(found, timeout=timeout):
        return None
    return next(e for e in sse_events(stream.text) if e["data"].get("msg") == msg and e["data"]["counter"] == counter)


# ----------------------------------------------------------------------------------------------------------------
# The store


def test_fields_and_counter_increments_on_repeats(clean):
    msg = f"pump hot {uuid.uuid4().hex[:6]}"
    alert(clean, msg, 1, rid="note-rid-1")
    first = listed(clean)
    assert len(first) == 1, f"{first!r}"
    note = first[0]
    assert {k: note[k] for k in ("msg", "severity", "severity_name", "counter", "entrypoint", "request_id",
                                 "service_name", "service_version", "dashboard", "emails", "timer")} == {
        "msg": msg, "severity": 1, "severity_name": "WARNING", "counter": 1, "entrypoint": "alert",
        "request_id": "note-rid-1", "service_name": "notes", "service_version": "2.1.0", "dashboard": True,
        "emails": [], "timer": 0.0,
    }, f"notification fields: {note!r}"
    assert isinstance(note["id"], int) and abs(note["timestamp"] - time.time()) < 30, f"{note!r}"

    time.sleep(0.02)
    alert(clean, msg, 1, rid="note-rid-2")
    alert(clean, msg, 1, rid="note-rid-3")
    again = listed(clean)
    assert len(again) == 1, f"a repeat of (msg, severity) must not add an entry: {again!r}"
    assert again[0]["counter"] == 3 and again[0]["id"] == note["id"], f"{again[0]!r}"
    assert again[0]["timestamp"] > note["timestamp"], "a repeat refreshes the timestamp"
    assert again[0]["request_id"] == "note-rid-3", "the other fields take the latest call's values"

    alert(clean, msg, 2)  # same text, other severity: a separate notification
    assert [(n["msg"], n["severity"], n["counter"]) for n in listed(clean)] == [(msg, 2, 1), (msg, 1, 3)]


def test_newest_first_and_a_repeat_moves_to_the_top(clean):
    for m in ("order-a", "order-b", "order-c"):
        alert(clean, m)
    assert msgs(listed(clean)) == ["order-c", "order-b", "order-a"]
    alert(clean, "order-a")
    assert msgs(listed(clean)) == ["order-a", "order-c", "order-b"]


def test_severity_filter_by_name_and_number(clean):
    alert(clean, "sev-info", 0)
    alert(clean, "sev-warning", 1)
    alert(clean, "sev-critical", 2)
    every = ["sev-critical", "sev-warning", "sev-info"]
    cases = {"0": every, "INFO": every, "1": every[:2], "warning": every[:2], "WARNING": every[:2],
             "Warning": every[:2], "2": every[:1], "critical": every[:1]}
    for value, expected in cases.items():
        assert msgs(listed(clean, f"severity={value}")) == expected, f"severity={value}"


def test_since_and_limit(clean):
    for m in ("s-1", "s-2", "s-3", "s-4"):
        alert(clean, m)
        time.sleep(0.01)
    items = listed(clean)
    stamp = {n["msg"]: n["timestamp"] for n in items}
    assert msgs(listed(clean, f"since={stamp['s-2']!r}")) == ["s-4", "s-3"], "since: strictly later than"
    assert msgs(listed(clean, f"since={stamp['s-4']!r}")) == []
    assert msgs(listed(clean, "since=0")) == ["s-4", "s-3", "s-2", "s-1"]
    assert msgs(listed(clean, "limit=2")) == ["s-4", "s-3"], "limit keeps the newest"
    assert msgs(listed(clean, "limit=0")) == ["s-4", "s-3", "s-2", "s-1"], "limit=0 means all"
    assert msgs(listed(clean, f"limit=1&since={stamp['s-1']!r}")) == ["s-4"]


@pytest.mark.parametrize("key, value", [("severity", "loud"), ("since", "abc"), ("limit", "-1"), ("limit", "1.5")])
def test_bad_query_is_422(svc, key, value):
    resp = svc.request("GET", f"/notifications?{key}={value}")
    assert resp.status == 422, f"GET /notifications?{key}={value}: {resp}"
    assert [d["loc"] for d in resp.body["detail"]] == [["query", key]], f"{resp.body!r}"


def test_delete_clears_and_ids_keep_counting(clean):
    alert(clean, "to-be-cleared")
    old_id = listed(clean)[0]["id"]
    resp = clean.request("DELETE", "/notifications")
    assert resp.status == 200 and resp.body == {"detail": "Notifications cleared"}, f"{resp}"
    assert listed(clean) == []
    alert(clean, "to-be-cleared")
    fresh = listed(clean)
    assert len(fresh) == 1 and fresh[0]["counter"] == 1 and fresh[0]["id"] > old_id, f"after DELETE: {fresh!r}"


def test_parameter_change_raises_info_notification(clean):
    resp = clean.request("POST", "/parameters/threshold", json={"value": 2.5})
    assert resp.status == 200, f"{resp}"
    resp = clean.request("POST", "/parameters/label", json={"label": "beta"})
    assert resp.status == 200, f"{resp}"
    items = listed(clean)
    # The value is shown as JSON, so a string keeps its quotes.
    assert msgs(items) == ['Parameter label changed to "beta"', "Parameter threshold changed to 2.5"], f"{items!r}"
    assert all(n["severity"] == 0 and n["severity_name"] == "INFO" and n["entrypoint"] is None for n in items)
    bad = clean.request("POST", "/parameters/threshold", json={"value": "not a number"})
    assert bad.status == 422 and len(listed(clean)) == 2, "a rejected change raises no notification"


# ----------------------------------------------------------------------------------------------------------------
# Server-Sent Events


def test_sse_event_format_and_latency(clean):
    msg = f"sse-{uuid.uuid4().hex[:6]}"
    with open_sse(clean) as stream:
        assert stream.headers.get("cache-control") == "no-cache", f"{stream.headers!r}"
        assert stream.text.startswith("retry: 3000\n\n"), f"preamble: {stream.text!r}"
        started = time.monotonic()
        alert(clean, msg, 2, rid="sse-rid-1")
        event = event_for(stream, msg)
        elapsed = time.monotonic() - started
        assert event is not None, f"no SSE event within {SSE_LATENCY} s of notify(): {stream.text!r}"
        assert elapsed < SSE_LATENCY, f"the event took {elapsed:.3f} s"
        stored = listed(clean)[0]
        assert event["event"] == "notification" and event["id"] == str(stored["id"]), f"{event!r}"
        assert event["data"] == stored, f"data must be the stored notification:\n{event['data']!r}\n{stored!r}"
        # Wire format: exactly "event:", "id:", one "data:" line, then a blank line.
        block = stream.text.split("\n\n")[1]
        lines = block.split("\n")
        assert [line.split(":", 1)[0] for line in lines] == ["event", "id", "data"], f"event block: {block!r}"
        assert lines[0] == "event: notification" and lines[1] == f"id: {stored['id']}", f"{block!r}"

        alert(clean, msg, 2)  # a repeat is a new event with the same id and counter 2
        repeat = event_for(stream, msg, counter=2)
        assert repeat is not None and repeat["id"] == event["id"], f"repeat event: {stream.text!r}"

        clean.request("POST", "/parameters/threshold", json={"value": 7.5})
        change = event_for(stream, "Parameter threshold changed to 7.5")
        assert change is not None and change["data"]["severity"] == 0, f"parameter change event: {stream.text!r}"
        assert not stream.ended, "the SSE stream ended on its own"


def test_sse_client_leaving_breaks_nothing(clean):
    tag = uuid.uuid4().hex[:6]
    stay = open_sse(clean)
    try:
        for _ in range(3):
            open_sse(clean).close()  # leave without reading
        quitter = open_sse(clean)
        alert(clean, f"first-{tag}")
        assert event_for(quitter, f"first-{tag}") is not None
        quitter.close()  # leaves after an event
        time.sleep(0.1)

        for n in range(3):
            alert(clean, f"after-{tag}-{n}")
        for n in range(3):
            assert event_for(stay, f"after-{tag}-{n}") is not None, f"the remaining client stopped: {stay.text!r}"
        assert clean.request("GET", "/health/live").status == 200
        assert msgs(listed(clean, "limit=1")) == [f"after-{tag}-2"]
        with open_sse(clean) as late:
            alert(clean, f"late-{tag}")
            assert event_for(late, f"late-{tag}") is not None, f"a new client gets events: {late.text!r}"
            assert event_for(stay, f"late-{tag}") is not None, f"the first client still gets events: {stay.text!r}"
    finally:
        stay.close()


def test_sigterm_ends_sse_stream_and_exits_zero(start_service):
    drain = 0.5
    svc = start_service(SERVICE, "--drain-delay", str(drain))
    with open_sse(svc) as stream:
        started = time.monotonic()
        svc.signal(signal.SIGTERM)
        assert stream.read_to_end(timeout=drain + 2.0), f"the SSE stream did not end: {stream.text!r}"
        code = svc.wait(max(drain + 2.0 - (time.monotonic() - started), 0.1))
        elapsed = time.monotonic() - started
        assert code == 0, f"exit code {code} after {elapsed:.2f} s (want 0 within {drain + 2} s)\n{svc.describe()}"
