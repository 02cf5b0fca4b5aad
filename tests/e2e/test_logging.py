"""The one log (SPEC §7, docs/logging.md): Python logging, print() and warnings captured with the call's request id,
stdout in text or JSON lines, the /logs ring with its query parameters and follow mode, the access log and
disable_http_logs, CR/LF escaping, truncation, tracebacks, and streams ending cleanly on SIGTERM.

Services under tests/e2e/services/logging_*; every wait is bounded (conftest helpers, streaming.StreamClient).
"""

import json
import re
import signal
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from streaming import StreamClient

SERVICES = Path(__file__).resolve().parent / "services"
SERVICE = SERVICES / "logging_basic" / "service.py"
LOG_WAIT = 5.0  # seconds a line may take to reach stdout
MAX_MESSAGE = 16384  # bytes kept of a message (LogOptions::max_message_bytes)

TEXT_RE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) "
    r"(?P<level>TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL) +"
    r"(?P<logger>\S+?): (?P<message>.*?)"
    r"(?: \[(?:entrypoint=(?P<entrypoint>\S+) )?request_id=(?P<request_id>[A-Za-z0-9._-]+)\])?$"
)
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


# ----------------------------------------------------------------------------------------------------------------
# Helpers


def new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def call(svc, name, rid, expect=200, **args):
    resp = svc.request("POST", f"/{name}", json=args, headers={"X-Request-ID": rid})
    assert resp.status == expect, f"POST /{name} {args!r}: {resp}\n{svc.describe()}"
    assert resp.headers.get("X-Request-ID") == rid, f"X-Request-ID not echoed: {resp}"
    return resp


def parse_text(lines):
    """Text log lines -> records (dicts); indented continuation lines become the record's `traceback_lines`."""
    records = []
    for line in lines:
        if line.startswith("    ") and records:
            records[-1]["traceback_lines"].append(line[4:])
            continue
        m = TEXT_RE.match(line)
        if m:
            rec = m.groupdict()
            rec["line"] = line
            rec["traceback_lines"] = []
            records.append(rec)
    return records


def stdout_snapshot(svc):
    with svc._cond:
        return list(svc.stdout_lines)


def wait_access(svc, rid, timeout=LOG_WAIT, json_lines=False):
    """Wait until the access line of request `rid` is on stdout (it is written after the call's own lines)."""
    if json_lines:
        pattern = r'"logger":"mvi\.access".*"request_id":"' + re.escape(rid) + '"'
    else:
        pattern = r"mvi\.access: .*request_id=" + re.escape(rid) + r"\]"
    assert svc.wait_for_output(pattern, timeout=timeout), f"no access line for {rid} on stdout\n{svc.describe()}"


def with_rid(records, rid):
    return [r for r in records if r.get("request_id") == rid]


def get_logs(svc, query="", expect=200):
    resp = svc.request("GET", "/logs" + (f"?{query}" if query else ""))
    assert resp.status == expect, f"GET /logs?{query}: {resp}"
    return resp


def logs_text_records(svc, query="tail=10000"):
    resp = get_logs(svc, query)
    assert resp.headers.get("Content-Type", "").startswith("text/plain"), f"/logs Content-Type: {resp.headers!r}"
    return parse_text(resp.raw.decode("utf-8").splitlines())


def logs_json_records(svc, query="tail=10000"):
    resp = get_logs(svc, "format=json&" + query)
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.startswith("application/x-ndjson"), f"/logs?format=json Content-Type: {ctype!r}"
    out = []
    for n, line in enumerate(resp.raw.decode("utf-8").splitlines()):
        try:
            out.append(json.loads(line))
        except ValueError as exc:
            pytest.fail(f"/logs?format=json line {n} is not JSON ({exc}): {line[:300]!r}")
    return out


def brief(records):
    return [(r["level"], r["logger"], r.get("message")) for r in records]


# ----------------------------------------------------------------------------------------------------------------
# Services


@pytest.fixture(scope="module")
def text_svc(module_launcher):
    """Default options: text lines, level info."""
    return module_launcher.start(SERVICE)


@pytest.fixture(scope="module")
def json_svc(module_launcher):
    return module_launcher.start(SERVICE, "--log-format", "json")


@pytest.fixture(scope="module")
def debug_svc(module_launcher):
    return module_launcher.start(SERVICE, "--log-level", "debug")


# ----------------------------------------------------------------------------------------------------------------
# Levels, print(), request ids


def test_levels_and_print_on_stdout_and_in_logs_with_request_id(text_svc):
    rid, tag = new_id("levels"), uuid.uuid4().hex[:8]
    call(text_svc, "chatter", rid, tag=tag)
    wait_access(text_svc, rid)

    records = with_rid(parse_text(stdout_snapshot(text_svc)), rid)
    expected = [
        ("INFO", "svc", f"info-line {tag}"),
        ("WARNING", "svc", f"warning-line {tag}"),
        ("ERROR", "svc", f"error-line {tag}"),
        ("CRITICAL", "svc", f"critical-line {tag}"),
        ("INFO", "stdout", f"print-line {tag}"),
        ("ERROR", "noisy", f"noisy-error {tag}"),
    ]
    assert brief(records[:-1]) == expected, f"stdout records of {rid}:\n{brief(records)}\n{text_svc.describe()}"
    access = records[-1]
    assert access["logger"] == "mvi.access" and access["level"] == "INFO", f"last record: {access!r}"
    assert all(r["entrypoint"] == "chatter" for r in records), f"entrypoint missing: {brief(records)}"

    output = text_svc.output()
    assert f"debug-line {tag}" not in output, "a DEBUG line was logged at the default level (info)"
    assert f"noisy-info {tag}" not in output, 'logger "noisy" was set to ERROR by the service; its INFO line leaked'

    ring = with_rid(logs_text_records(text_svc), rid)
    assert [r["line"] for r in ring] == [r["line"] for r in records], (
        f"/logs must hold the same lines as stdout for {rid}:\n/logs: {[r['line'] for r in ring]}\n"
        f"stdout: {[r['line'] for r in records]}"
    )


def test_log_level_debug_shows_debug_lines(debug_svc):
    rid, tag = new_id("debug"), uuid.uuid4().hex[:8]
    call(debug_svc, "chatter", rid, tag=tag)
    wait_access(debug_svc, rid)
    records = with_rid(parse_text(stdout_snapshot(debug_svc)), rid)
    assert ("DEBUG", "svc", f"debug-line {tag}") in brief(records), (
        f"--log-level debug must show logger.debug lines: {brief(records)}\n{debug_svc.describe()}"
    )
    assert f"noisy-info {tag}" not in debug_svc.output(), "the service's own level (ERROR on 'noisy') must still win"
    ring = with_rid(logs_text_records(debug_svc, "tail=10000&level=debug"), rid)
    assert ("DEBUG", "svc", f"debug-line {tag}") in brief(ring), f"/logs?level=debug: {brief(ring)}"


def test_print_from_a_background_thread(text_svc):
    rid, tag = new_id("thread"), uuid.uuid4().hex[:8]
    call(text_svc, "threaded", rid, tag=tag)
    wait_access(text_svc, rid)
    found = [r for r in parse_text(stdout_snapshot(text_svc)) if r["message"] == f"thread-print {tag}"]
    assert len(found) == 1, f"print() from a service thread must be one stdout record:\n{text_svc.describe()}"
    rec = found[0]
    assert (rec["level"], rec["logger"]) == ("INFO", "stdout"), f"record: {rec!r}"
    # The thread is not the call's executor thread, so it carries no request id (docs/logging.md).
    assert rec["request_id"] is None, f"a thread the service started has no call context: {rec!r}"
    ring = [r for r in logs_json_records(text_svc) if r["message"] == f"thread-print {tag}"]
    assert len(ring) == 1 and ring[0]["logger"] == "stdout", f"/logs: {ring!r}"


def test_warnings_go_to_py_warnings_logger(text_svc):
    rid, tag = new_id("warn"), uuid.uuid4().hex[:8]
    call(text_svc, "warn", rid, tag=tag)
    wait_access(text_svc, rid)
    records = [r for r in with_rid(logs_json_records(text_svc), rid) if r["logger"] == "py.warnings"]
    assert len(records) == 1, f"warnings.warn must give one py.warnings record:\n{text_svc.describe()}"
    rec = records[0]
    assert rec["level"] == "WARNING", f"record: {rec!r}"
    assert f"UserWarning: careful-now {tag}" in rec["message"], f"record: {rec!r}"
    assert rec.get("entrypoint") == "warn", f"record: {rec!r}"


# ----------------------------------------------------------------------------------------------------------------
# Access log


def test_access_log_lines(text_svc):
    rid_get, rid_404, rid_422, rid_status = (new_id(p) for p in ("acc-get", "acc-404", "acc-422", "acc-status"))
    resp = text_svc.request("GET", "/loud?tag=secret-in-query", headers={"X-Request-ID": rid_get})
    assert resp.status == 200, f"GET /loud: {resp}"
    assert text_svc.request("GET", "/nope", headers={"X-Request-ID": rid_404}).status == 404
    assert text_svc.request("POST", "/chatter", json={}, headers={"X-Request-ID": rid_422}).status == 422
    assert text_svc.request("GET", "/status", headers={"X-Request-ID": rid_status}).status == 200
    wait_access(text_svc, rid_status)

    records = parse_text(stdout_snapshot(text_svc))
    expect = {
        rid_get: (r"GET /loud 200 \d+\.\d\dms", "loud"),
        rid_404: (r"GET /nope 404 \d+\.\d\dms", None),
        rid_422: (r"POST /chatter 422 \d+\.\d\dms", "chatter"),
        rid_status: (r"GET /status 200 \d+\.\d\dms", None),
    }
    for rid, (pattern, entrypoint) in expect.items():
        lines = [r for r in with_rid(records, rid) if r["logger"] == "mvi.access"]
        assert len(lines) == 1, f"one access line expected for {rid}:\n{text_svc.describe()}"
        assert lines[0]["level"] == "INFO" and re.fullmatch(pattern, lines[0]["message"]), f"{lines[0]['line']!r}"
        assert lines[0]["entrypoint"] == entrypoint, f"entrypoint in {lines[0]['line']!r}"
    assert "secret-in-query" not in text_svc.output(), "the access log must not log the query string"


def test_disable_http_logs_suppresses_exactly_that_entrypoints_access_lines(text_svc):
    tag = uuid.uuid4().hex[:8]
    rid_quiet, rid_quiet_422, rid_loud, rid_chatter = (new_id(p) for p in ("quiet", "quiet422", "loud", "chat"))
    call(text_svc, "quiet", rid_quiet, tag=tag)
    call(text_svc, "quiet", rid_quiet_422, expect=422)  # missing argument: still that entrypoint
    assert text_svc.request("GET", f"/loud?tag={tag}", headers={"X-Request-ID": rid_loud}).status == 200
    call(text_svc, "chatter", rid_chatter, tag=tag)
    wait_access(text_svc, rid_chatter)

    for source, records in (("stdout", parse_text(stdout_snapshot(text_svc))), ("/logs", logs_text_records(text_svc))):
        quiet = with_rid(records, rid_quiet)
        assert brief(quiet) == [("INFO", "svc", f"quiet-line {tag}")], (
            f"{source}: the quiet entrypoint's own log line stays, its access line goes: {brief(quiet)}"
        )
        assert with_rid(records, rid_quiet_422) == [], f"{source}: a 422 on the quiet entrypoint was access-logged"
        for rid in (rid_loud, rid_chatter):
            assert [r for r in with_rid(records, rid) if r["logger"] == "mvi.access"], (
                f"{source}: other entrypoints keep their access lines ({rid} has none)"
            )


# ----------------------------------------------------------------------------------------------------------------
# Line safety: CR/LF, truncation, tracebacks, encoding


def test_crlf_in_message_stays_one_line(text_svc):
    rid, tag = new_id("crlf"), uuid.uuid4().hex[:8]
    message = f"first-{tag}\r\nsecond-{tag}\n2026-01-01T00:00:00.000Z CRITICAL forged-{tag}: injected\r"
    call(text_svc, "say", rid, message=message)
    wait_access(text_svc, rid)
    escaped = message.replace("\r", "\\r").replace("\n", "\\n")

    lines = [line for line in stdout_snapshot(text_svc) if tag in line]
    assert len(lines) == 1, f"a message with CR/LF must stay one stdout line, got {len(lines)}: {lines!r}"
    rec = parse_text(lines)[0]
    assert rec["message"] == escaped and rec["request_id"] == rid, f"stdout line: {lines[0]!r}"

    body = get_logs(text_svc, "tail=10000").raw.decode("utf-8")
    ring_lines = [line for line in body.split("\n") if tag in line]
    assert len(ring_lines) == 1 and escaped in ring_lines[0], f"/logs text: {ring_lines!r}"
    assert "\r" not in body, "/logs text must not contain a raw CR"

    ring = [r for r in with_rid(logs_json_records(text_svc), rid) if r["logger"] == "svc"]
    assert [r["message"] for r in ring] == [message], f"JSON keeps the message exactly: {ring!r}"


def test_crlf_in_logger_name_stays_one_line(text_svc):
    """The logger name is user-chosen text in the same line; CR/LF in it must not forge a second line."""
    rid, tag = new_id("crlf-name"), uuid.uuid4().hex[:8]
    call(text_svc, "say", rid, message=f"named-{tag}", logger=f"evil-{tag}\r\nFORGED-{tag} CRITICAL x")
    wait_access(text_svc, rid)
    lines = [line for line in stdout_snapshot(text_svc) if tag in line]
    assert len(lines) == 1, (
        f"a logger name with CR/LF must stay one stdout line (escaped like the message), got {len(lines)}:\n"
        + "\n".join(repr(line) for line in lines)
    )


@pytest.mark.parametrize(
    "message, kept, dropped",
    [
        ("a" * MAX_MESSAGE, "a" * MAX_MESSAGE, 0),  # exactly the limit: untouched
        ("b" * 20000, "b" * MAX_MESSAGE, 20000 - MAX_MESSAGE),
        # 3-byte characters: the cut moves back to a character boundary (16383 bytes kept)
        ("€" * 6000, "€" * (MAX_MESSAGE // 3), 18000 - 3 * (MAX_MESSAGE // 3)),
    ],
    ids=["at-limit", "ascii", "utf8-boundary"],
)
def test_long_message_truncated(text_svc, message, kept, dropped):
    rid = new_id("long")
    call(text_svc, "say", rid, message=message)
    wait_access(text_svc, rid)
    expected = kept if not dropped else f"{kept}… [truncated {dropped} bytes]"
    ring = [r for r in with_rid(logs_json_records(text_svc), rid) if r["logger"] == "svc"]
    assert len(ring) == 1, f"/logs records for {rid}: {len(ring)}"
    got = ring[0]["message"]
    assert got == expected, (
        f"message of {len(message.encode())} bytes: got {len(got.encode())} bytes ending {got[-40:]!r}"
    )
    lines = [line for line in stdout_snapshot(text_svc) if rid in line and " svc: " in line]
    assert len(lines) == 1 and expected in lines[0], f"stdout line: {lines[0][-80:] if lines else None!r}"


def test_logger_exception_carries_traceback(text_svc):
    rid, tag = new_id("exc"), uuid.uuid4().hex[:8]
    call(text_svc, "caught", rid, tag=tag)
    wait_access(text_svc, rid)

    # Text: the record, then the traceback's lines indented by four spaces, then the next record.
    lines = stdout_snapshot(text_svc)
    start = next(i for i, line in enumerate(lines) if f"caught-it {tag}" in line)
    rec = parse_text([lines[start]])[0]
    assert (rec["level"], rec["logger"], rec["request_id"]) == ("ERROR", "svc", rid), f"{lines[start]!r}"
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        block.append(line)
    assert block and block[0] == "    Traceback (most recent call last):", f"traceback block: {block!r}"
    assert block[-1] == f"    ValueError: bad value {tag}", f"traceback block: {block!r}"
    assert any('raise ValueError(f"bad value {tag}")' in line for line in block), f"source line missing: {block!r}"

    ring = with_rid(logs_text_records(text_svc), rid)
    assert ring[0]["message"] == f"caught-it {tag}" and ring[0]["traceback_lines"] == [b[4:] for b in block], (
        f"/logs text must carry the same indented traceback: {ring[0]!r}"
    )
    record = [r for r in with_rid(logs_json_records(text_svc), rid) if r["logger"] == "svc"][0]
    assert record["traceback"] == "\n".join(b[4:] for b in block), f"JSON traceback field: {record!r}"


def test_uncaught_exception_traceback_only_in_log(text_svc):
    rid, tag = new_id("uncaught"), uuid.uuid4().hex[:8]
    resp = call(text_svc, "uncaught", rid, expect=500, tag=tag)
    assert "Traceback" not in resp.text and tag not in resp.text, f"500 body leaks the error: {resp.text!r}"
    wait_access(text_svc, rid)
    record = [r for r in with_rid(logs_json_records(text_svc), rid) if r["logger"] == "mvi.entrypoint"]
    assert len(record) == 1 and record[0]["level"] == "ERROR", f"/logs: {record!r}\n{text_svc.describe()}"
    assert record[0]["traceback"].startswith("Traceback (most recent call last):"), f"{record[0]!r}"
    assert record[0]["traceback"].endswith(f"RuntimeError: uncaught-error {tag}"), f"{record[0]!r}"


def test_unencodable_text_does_not_break_the_call(start_service):
    """print() and logging of a str with a lone surrogate: the call succeeds, the lines are logged (replaced), and
    later print() calls on the same executor thread still work. Own service: a failure here must not leak."""
    svc = start_service(SERVICES / "logging_unencodable" / "service.py")
    rid, tag = new_id("surrogate"), uuid.uuid4().hex[:8]
    resp = svc.request("POST", "/surrogate", json={"tag": tag}, headers={"X-Request-ID": rid})
    wait_access(svc, rid)
    after_rid = new_id("after-surrogate")
    after = svc.request("POST", "/plain", json={"tag": tag}, headers={"X-Request-ID": after_rid})
    wait_access(svc, after_rid)
    assert resp.status == 200, f"print('\\udc80') inside an entrypoint must not fail the call: {resp}\n{svc.describe()}"
    messages = [r["message"] for r in with_rid(parse_text(stdout_snapshot(svc)), rid)]
    for prefix in ("print-surrogate", "log-surrogate"):
        assert any(m.startswith(f"{prefix} {tag} ") and m.endswith(" end") for m in messages), (
            f"the {prefix} line is missing (expected with the surrogate replaced): {messages!r}\n{svc.describe()}"
        )
    assert after.status == 200, f"a later call that prints must still work: {after}\n{svc.describe()}"
    later = [r["message"] for r in with_rid(parse_text(stdout_snapshot(svc)), after_rid)]
    assert f"print-line {tag}" in later, f"the later print() line: {later!r}"


# ----------------------------------------------------------------------------------------------------------------
# JSON lines


def test_json_format_parses_line_by_line(json_svc):
    tag = uuid.uuid4().hex[:8]
    rid_levels, rid_exc, rid_crlf = new_id("jlv"), new_id("jexc"), new_id("jcrlf")
    message = f"one-{tag}\r\ntwo-{tag}"
    call(json_svc, "chatter", rid_levels, tag=tag)
    call(json_svc, "caught", rid_exc, tag=tag)
    call(json_svc, "say", rid_crlf, message=message)
    wait_access(json_svc, rid_crlf, json_lines=True)

    records = []
    for n, line in enumerate(stdout_snapshot(json_svc)):
        try:
            rec = json.loads(line)
        except ValueError as exc:
            pytest.fail(f"stdout line {n} is not JSON ({exc}): {line[:300]!r}\n{json_svc.describe()}")
        assert isinstance(rec, dict), f"line {n}: {line!r}"
        for key in ("time", "level", "logger", "message", "service"):
            assert key in rec, f"line {n} lacks {key!r}: {line!r}"
        assert ISO_RE.match(rec["time"]) and rec["level"] in LEVELS and rec["service"] == "service", f"{line!r}"
        records.append(rec)
    assert any(r["logger"] == "mvi.runtime" and r["message"].startswith("listening on") for r in records), (
        "the runtime's own lines are JSON too"
    )

    levels = [(r["level"], r["logger"], r["message"]) for r in with_rid(records, rid_levels)]
    assert levels[:-1] == [
        ("INFO", "svc", f"info-line {tag}"),
        ("WARNING", "svc", f"warning-line {tag}"),
        ("ERROR", "svc", f"error-line {tag}"),
        ("CRITICAL", "svc", f"critical-line {tag}"),
        ("INFO", "stdout", f"print-line {tag}"),
        ("ERROR", "noisy", f"noisy-error {tag}"),
    ], f"JSON records of {rid_levels}: {levels!r}"
    assert levels[-1][1] == "mvi.access", f"{levels[-1]!r}"
    assert all(r["entrypoint"] == "chatter" for r in with_rid(records, rid_levels))

    exc = [r for r in with_rid(records, rid_exc) if r["logger"] == "svc"][0]
    assert exc["message"] == f"caught-it {tag}" and exc["level"] == "ERROR", f"{exc!r}"
    assert exc["traceback"].startswith("Traceback (most recent call last):\n"), f"{exc!r}"
    assert exc["traceback"].endswith(f"ValueError: bad value {tag}"), f"{exc!r}"
    assert "traceback" not in with_rid(records, rid_levels)[0], "records without an exception have no traceback"

    crlf = [r for r in with_rid(records, rid_crlf) if r["logger"] == "svc"]
    assert [r["message"] for r in crlf] == [message], f"CR/LF round-trips in JSON: {crlf!r}"

    # /logs defaults to text whatever the console format is; format=json gives the same objects.
    text = get_logs(json_svc, "tail=5").raw.decode("utf-8")
    assert all(TEXT_RE.match(line) for line in text.splitlines() if not line.startswith("    ")), (
        f"/logs default format is text: {text[:500]!r}"
    )
    ring = [r for r in with_rid(logs_json_records(json_svc), rid_levels)]
    assert ring == with_rid(records, rid_levels), "/logs?format=json must hold the same objects as stdout"


# ----------------------------------------------------------------------------------------------------------------
# /logs query parameters


def test_logs_tail(text_svc):
    for n in range(30):  # at least 60 records in the ring, whatever ran before
        call(text_svc, "say", new_id(f"tail{n}"), message=f"tail filler {n}")
    assert len(logs_text_records(text_svc, "")) == 50, "the default tail is 50 records"
    three = logs_text_records(text_svc, "tail=3")
    everything = logs_text_records(text_svc, "tail=10000")
    assert len(three) == 3, f"tail=3: {brief(three)}"
    # The tail=10000 body also holds the access line of the tail=3 request, written after that body.
    assert [r["line"] for r in three] == [r["line"] for r in everything[-4:-1]], "tail=3 gives the newest three"
    assert get_logs(text_svc, "tail=0").raw == b"", "tail=0 gives nothing"


def test_logs_level_filter(text_svc):
    rid, tag = new_id("lvl"), uuid.uuid4().hex[:8]
    call(text_svc, "chatter", rid, tag=tag)
    for query, minimum in (("level=error", "ERROR"), ("level=WARNING", "WARNING"), ("level=40", "ERROR"),
                           ("level=warn", "WARNING"), ("level=critical", "CRITICAL")):
        records = logs_text_records(text_svc, f"tail=10000&{query}")
        below = [r["line"] for r in records if LEVELS.index(r["level"]) < LEVELS.index(minimum)]
        assert not below, f"{query}: lines below {minimum}: {below[:5]!r}"
        mine = [r["message"] for r in with_rid(records, rid)]
        assert f"critical-line {tag}" in mine, f"{query}: {mine!r}"
        assert (f"warning-line {tag}" in mine) == (minimum == "WARNING"), f"{query}: {mine!r}"


def test_logs_since_unix_seconds_and_iso(text_svc):
    tag = uuid.uuid4().hex[:8]
    call(text_svc, "say", new_id("since"), message=f"before-{tag}")
    time.sleep(0.05)
    cut = time.time()
    time.sleep(0.05)
    call(text_svc, "say", new_id("since"), message=f"after-{tag}")

    cut_dt = datetime.fromtimestamp(cut, tz=timezone.utc)
    iso_z = cut_dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    iso_plus2 = cut_dt.astimezone(timezone(timedelta(hours=2))).isoformat(timespec="milliseconds")
    iso_minus5 = cut_dt.astimezone(timezone(timedelta(hours=-5))).isoformat(timespec="milliseconds")
    iso_naive = cut_dt.replace(tzinfo=None).isoformat(timespec="milliseconds")  # taken as UTC
    for since in (f"{cut:.3f}", iso_z, iso_plus2, iso_minus5, iso_naive):
        encoded = since.replace("+", "%2B")
        messages = [r["message"] for r in logs_text_records(text_svc, f"tail=10000&since={encoded}")]
        assert f"after-{tag}" in messages, f"since={since}: the later line is missing"
        assert f"before-{tag}" not in messages, f"since={since}: the earlier line is present"
    assert get_logs(text_svc, f"since={cut + 3600:.3f}").raw == b"", "since in the future gives nothing"


@pytest.mark.parametrize(
    "key, value",
    [("tail", "abc"), ("tail", "-1"), ("level", "loud"), ("format", "xml"), ("follow", "maybe"),
     ("since", "yesterday"), ("since", "2026-13-45T99:00:00Z")],
)
def test_logs_bad_query_is_422(text_svc, key, value):
    resp = get_logs(text_svc, f"{key}={value}", expect=422)
    detail = resp.body["detail"]
    assert [d["loc"] for d in detail] == [["query", key]], f"GET /logs?{key}={value}: {resp.body!r}"
    assert detail[0]["input"] == value, f"{resp.body!r}"


# ----------------------------------------------------------------------------------------------------------------
# follow=true


def test_follow_streams_lines_logged_after_the_request(text_svc):
    rid, tag = new_id("follow"), uuid.uuid4().hex[:8]
    with StreamClient(text_svc.port, "/logs?follow=true&tail=0") as stream:
        assert stream.status == 200 and stream.headers.get("content-type", "").startswith("text/plain"), (
            f"follow head: {stream.status} {stream.headers!r}"
        )
        assert stream.chunked, f"a follow response is chunked: {stream.headers!r}"
        time.sleep(0.1)
        call(text_svc, "chatter", rid, tag=tag)
        access = re.compile(r"mvi\.access: POST /chatter 200 .* request_id=" + re.escape(rid) + r"\]")
        assert stream.read_until(access.search, timeout=LOG_WAIT), (
            f"follow did not stream the call's lines: {stream.text[-2000:]!r}"
        )
        records = with_rid(parse_text(stream.text.splitlines()), rid)
        assert ("INFO", "svc", f"info-line {tag}") in brief(records), f"streamed: {brief(records)}"
        assert ("INFO", "stdout", f"print-line {tag}") in brief(records), f"streamed: {brief(records)}"
        assert not stream.ended, "the follow stream ended on its own"


def test_follow_json_with_level(text_svc):
    rid, tag = new_id("followj"), uuid.uuid4().hex[:8]
    with StreamClient(text_svc.port, "/logs?follow=true&tail=0&format=json&level=warning") as stream:
        assert stream.status == 200, f"{stream.status} {stream.headers!r}"
        time.sleep(0.1)
        call(text_svc, "chatter", rid, tag=tag)
        assert stream.wait_for(f"noisy-error {tag}", timeout=LOG_WAIT), f"streamed: {stream.text[-2000:]!r}"
        records = [json.loads(line) for line in stream.text.splitlines()]
        assert all(LEVELS.index(r["level"]) >= LEVELS.index("WARNING") for r in records), f"{records!r}"
        assert [r["message"] for r in with_rid(records, rid)] == [
            f"warning-line {tag}", f"error-line {tag}", f"critical-line {tag}", f"noisy-error {tag}"
        ], f"streamed: {records!r}"


def test_follow_client_leaving_breaks_nothing(text_svc):
    tag = uuid.uuid4().hex[:8]
    stay = StreamClient(text_svc.port, "/logs?follow=true&tail=0")
    try:
        for _ in range(3):
            gone = StreamClient(text_svc.port, "/logs?follow=true&tail=0")
            gone.close()  # leaves without reading
        time.sleep(0.1)
        for n in range(5):
            call(text_svc, "say", new_id("left"), message=f"after-leave-{tag}-{n}")
        assert stay.wait_for(f"after-leave-{tag}-4", timeout=LOG_WAIT), f"remaining follower: {stay.text[-1000:]!r}"
        assert text_svc.request("GET", "/health/live").status == 200
        with StreamClient(text_svc.port, "/logs?follow=true&tail=0") as late:
            time.sleep(0.1)
            call(text_svc, "say", new_id("late"), message=f"late-{tag}")
            assert late.wait_for(f"late-{tag}", timeout=LOG_WAIT), f"new follower: {late.text[-1000:]!r}"
            assert stay.wait_for(f"late-{tag}", timeout=LOG_WAIT), "the first follower stopped receiving"
    finally:
        stay.close()


def test_sigterm_ends_follow_stream_and_exits_zero(start_service):
    drain = 0.5
    svc = start_service(SERVICE, "--drain-delay", str(drain))
    with StreamClient(svc.port, "/logs?follow=true&tail=0") as stream:
        assert stream.status == 200
        time.sleep(0.1)
        started = time.monotonic()
        svc.signal(signal.SIGTERM)
        assert stream.read_to_end(timeout=drain + 2.0), f"the follow stream did not end: {stream.text[-1000:]!r}"
        code = svc.wait(max(drain + 2.0 - (time.monotonic() - started), 0.1))
        elapsed = time.monotonic() - started
        assert code == 0, f"exit code {code} after {elapsed:.2f} s (want 0 within {drain + 2} s)\n{svc.describe()}"
        assert "received signal 15" in stream.text, f"the follower sees the shutdown line: {stream.text!r}"
