"""Monitoring (SPEC §7, §2.1 service.store; include/mvi/monitor/monitor_store.hpp): values recorded by
service.store(), by monitor=True entrypoints (<name>_request as sent, <name>_response) and by monitored parameters
(every change), read back through GET /~monitor (JSON, variables/start/end filters, 412 for unknown variables),
/~monitor/csv (a zip with one CSV per variable) and /~monitor/db (a SQLite copy), with the retention limit applied,
values surviving a restart, and no database file for a service that never monitors.

Services: tests/e2e/services/sdk_monitor (stores) and sdk_no_monitor. Every database lives under tmp_path.
"""

import csv
import io
import json
import re
import sqlite3
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parent / "services"
MONITOR_SERVICE = SERVICES / "sdk_monitor" / "service.py"
NO_MONITOR_SERVICE = SERVICES / "sdk_no_monitor" / "service.py"
QUICK_STOP = ("--drain-delay", "0")  # teardown's SIGTERM need not wait the default 1 s drain
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
LOG_WAIT = 5.0


# ----------------------------------------------------------------------------------------------------------------
# Helpers


def start_monitor(start_service, db, *args, **kwargs):
    return start_service(MONITOR_SERVICE, "--monitor-db", db, *QUICK_STOP, *args, **kwargs)


def post(svc, entrypoint, **body):
    resp = svc.request("POST", f"/{entrypoint}", json=body)
    assert resp.status == 200, f"POST /{entrypoint} {body!r}: {resp}\n{svc.describe()}"
    return resp.body


def record(svc, name, value):
    assert post(svc, "record", name=name, value=value) == "stored"


def monitor(svc, query="", expect=200):
    # the typed view (ISO timestamps, values as stored); Daeploy's default shapes: test_daeploy_view_*
    query = "&".join(q for q in (query, "format=iso") if q)
    resp = svc.request("GET", "/~monitor?" + query)
    assert resp.status == expect, f"GET /~monitor?{query}: {resp}\n{svc.describe()}"
    if expect == 200:
        assert resp.headers.get("Content-Type", "").startswith("application/json"), resp
        assert isinstance(resp.body, dict), resp
    return resp.body


def values(svc, variable):
    body = monitor(svc, f"variables={variable}")
    assert set(body) == {variable}, body
    return body[variable]["value"]


def parse_ts(text):
    assert ISO_RE.match(text), f"timestamp {text!r} is not ISO 8601 with microseconds and +00:00"
    return datetime.fromisoformat(text)


def unzip_csvs(raw):
    """zip bytes -> {file name: list of CSV rows (lists of str)}."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert zf.testzip() is None, "corrupt zip entry"
        return {
            name: list(csv.reader(io.StringIO(zf.read(name).decode("utf-8"), newline="")))
            for name in zf.namelist()
        }


def db_rows(raw, tmp_path, name="copy.db"):
    """Write the /~monitor/db bytes to a file, open it with sqlite3; returns (connection, {variable: [values]})."""
    path = tmp_path / name
    path.write_bytes(raw)
    conn = sqlite3.connect(str(path))
    rows = {}
    for variable, value in conn.execute("SELECT variable, value FROM monitor ORDER BY variable, timestamp"):
        rows.setdefault(variable, []).append(value)
    return conn, rows


# ----------------------------------------------------------------------------------------------------------------
# store() and the JSON round trip


def test_store_kinds_and_unencodable_value_is_skipped(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db")
    before = time.time()
    assert post(svc, "record_kinds") == "stored"  # the unencodable value does not fail the call
    after = time.time()
    body = monitor(svc)
    expected = {
        "kind_int": 42,
        "kind_float": 2.5,
        "kind_str": "hello",
        "kind_dict": {"a": [1, 2], "b": {"c": None}},
        "kind_list": [1, "two", 3.0, True],
        "kind_datetime": "2024-05-01T12:30:15.250000",
        "kind_np_float": 1.25,
        "kind_np_int": 7,
    }
    assert set(body) == set(expected), f"variables: {sorted(body)}"
    for name, value in expected.items():
        assert body[name]["value"] == [value], f"{name}: {body[name]}"
        assert type(body[name]["value"][0]) is type(value), f"{name}: {body[name]}"
        (ts,) = body[name]["timestamp"]
        t = parse_ts(ts).timestamp()
        assert before - 1 <= t <= after + 1, f"{name}: timestamp {ts} outside the call ({before}..{after})"
    assert svc.wait_for_output(r"WARNING +mvi\.monitor: .*kind_opaque", timeout=LOG_WAIT), (
        f"no warning naming the skipped variable\n{svc.describe()}"
    )
    # Asking for the skipped variable: it was never stored.
    monitor(svc, "variables=kind_opaque", expect=412)


ROUND_TRIP = [
    0,
    -17,
    2**53,
    3.5,
    -1e-7,
    "",
    "plain",
    "héllo ✓ \U0001F600",
    "line1\nline2,\"quoted\"",
    '{"looks": "like json"}',
    "[1, 2]",
    "true",
    "null",
    "42",
    True,
    False,
    None,
    [],
    {},
    [1, [2, [3, {"x": None}]]],
    {"nested": {"deep": [1.5, "two", False]}, "empty": {}},
]


def test_json_values_round_trip_in_order(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db")
    for value in ROUND_TRIP:
        record(svc, "rt", value)
    got = values(svc, "rt")
    assert len(got) == len(ROUND_TRIP), got
    for sent, back in zip(ROUND_TRIP, got):
        assert back == sent and type(back) is type(sent), f"stored {sent!r}, read back {back!r}"
    body = monitor(svc, "variables=rt")
    stamps = [parse_ts(t) for t in body["rt"]["timestamp"]]
    assert stamps == sorted(stamps), "timestamps are not oldest first"


def test_variables_filter_and_unknown_variables_412(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db")
    assert monitor(svc) == {}, "nothing stored yet: an empty object"
    for name, value in (("a", 1), ("b", 2), ("c", 3)):
        record(svc, name, value)
    assert set(monitor(svc)) == {"a", "b", "c"}
    only = monitor(svc, "variables=a&variables=c")
    assert set(only) == {"a", "c"} and only["a"]["value"] == [1] and only["c"]["value"] == [3], only
    assert set(monitor(svc, "variables=b&variables=b")) == {"b"}

    resp = svc.request("GET", "/~monitor?variables=a&variables=nope&variables=zilch")
    assert resp.status == 412, resp
    detail = resp.body["detail"]
    assert "nope" in detail and "zilch" in detail and "a," not in detail, detail
    for path in ("/~monitor/csv?variables=nope", "/~monitor/csv?variables=a&variables=nope"):
        r = svc.request("GET", path)
        assert r.status == 412 and "nope" in r.body["detail"], f"{path}: {r}"


def test_start_and_end_filters_unix_seconds_and_iso(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db")
    for v in (1, 2, 3):
        record(svc, "t", v)
        time.sleep(0.3)
    body = monitor(svc, "variables=t")
    assert body["t"]["value"] == [1, 2, 3], body
    t1, t2, t3 = (parse_ts(s).timestamp() for s in body["t"]["timestamp"])
    mid12, mid23 = (t1 + t2) / 2, (t2 + t3) / 2

    def filtered(query):
        return monitor(svc, f"variables=t&{query}")["t"]["value"]

    # Unix seconds
    assert filtered(f"start={mid12}") == [2, 3]
    assert filtered(f"end={mid23}") == [1, 2]
    assert filtered(f"start={mid12}&end={mid23}") == [2]
    assert filtered(f"start={int(t3) + 5}") == []
    assert filtered(f"end={int(t1) - 5}") == []
    # ISO 8601, with +00:00 (URL-encoded) or Z, and with another offset
    iso = lambda t: datetime.fromtimestamp(t, tz=timezone.utc).isoformat()  # noqa: E731
    assert filtered(f"start={iso(mid12).replace('+00:00', '%2B00:00')}") == [2, 3]
    assert filtered(f"end={iso(mid23).replace('+00:00', 'Z')}") == [1, 2]
    plus2 = datetime.fromtimestamp(mid12, tz=timezone.utc).astimezone(
        timezone(timedelta(hours=2))).isoformat()
    assert filtered(f"start={plus2.replace('+', '%2B')}") == [2, 3]
    # The same filters on the zip.
    resp = svc.request("GET", f"/~monitor/csv?variables=t&start={mid12}&end={mid23}&format=iso")
    assert resp.status == 200, resp
    rows = unzip_csvs(resp.raw)["t.csv"]
    assert [r[1] for r in rows[1:]] == ["2"], rows
    # Not a time
    bad = svc.request("GET", "/~monitor?start=yesterday")
    assert bad.status == 422, bad


def test_start_end_include_a_timestamp_read_back_from_the_api(start_service, tmp_path):
    """Bounds are inclusive: a timestamp copied from /~monitor's own answer, given as start and end, selects that
    sample. Ten samples, so a lucky rounding of one timestamp cannot hide a mismatch."""
    svc = start_monitor(start_service, tmp_path / "m.db")
    assert post(svc, "record_many", count=10, name="edge") == 10
    body = monitor(svc, "variables=edge")
    assert body["edge"]["value"] == list(range(10)), body
    wrong = {}
    for i, ts in enumerate(body["edge"]["timestamp"]):
        q = ts.replace("+", "%2B")
        got = monitor(svc, f"variables=edge&start={q}&end={q}")["edge"]["value"]
        if got != [i]:
            wrong[ts] = got
    assert not wrong, (
        f"start=end=<a sample's own timestamp> did not select exactly that sample for {len(wrong)} of 10 samples: "
        f"{wrong}"
    )


# ----------------------------------------------------------------------------------------------------------------
# CSV zip and database copy


def test_csv_zip_has_one_csv_per_variable(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db")
    record(svc, "num", 1)
    record(svc, "num", 2.5)
    record(svc, "text", 'a,b "c"\nd')
    record(svc, "obj", {"k": [1, None]})
    record(svc, "flag", True)
    record(svc, "nothing", None)
    resp = svc.request("GET", "/~monitor/csv?format=iso")
    assert resp.status == 200, resp
    assert resp.headers.get("Content-Type", "").startswith("application/zip"), resp.headers
    assert resp.headers.get("Content-Disposition") == 'attachment; filename="csv_data.zip"', resp.headers
    files = unzip_csvs(resp.raw)
    assert set(files) == {"num.csv", "text.csv", "obj.csv", "flag.csv", "nothing.csv"}, sorted(files)
    for name, rows in files.items():
        assert rows[0] == ["timestamp", "value"], f"{name}: header {rows[0]}"
        for row in rows[1:]:
            assert len(row) == 2, f"{name}: {row}"
            parse_ts(row[0])
    values_of = {name[:-4]: [r[1] for r in rows[1:]] for name, rows in files.items()}
    assert [float(x) for x in values_of["num"]] == [1, 2.5], values_of["num"]
    assert values_of["text"] == ['a,b "c"\nd'], values_of["text"]
    assert [json.loads(x) for x in values_of["obj"]] == [{"k": [1, None]}], values_of["obj"]
    assert [json.loads(x) for x in values_of["flag"]] == [True], values_of["flag"]
    assert [json.loads(x) for x in values_of["nothing"]] == [None], values_of["nothing"]
    # Timestamps agree with the JSON view.
    body = monitor(svc, "variables=num")
    assert [r[0] for r in files["num.csv"][1:]] == body["num"]["timestamp"]

    only = unzip_csvs(svc.request("GET", "/~monitor/csv?variables=num&variables=obj").raw)
    assert set(only) == {"num.csv", "obj.csv"}, sorted(only)


def test_csv_zip_when_nothing_is_stored_is_412_as_daeploy(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db")
    resp = svc.request("GET", "/~monitor/csv")
    assert resp.status == 412 and resp.body == {"detail": "No monitored variables exists"}, resp


def test_db_copy_opens_with_sqlite3(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db")
    record(svc, "num", 1)
    record(svc, "num", 2)
    record(svc, "word", "hi")
    record(svc, "obj", {"a": 1})
    resp = svc.request("GET", "/~monitor/db")
    assert resp.status == 200, resp
    assert resp.raw.startswith(b"SQLite format 3\x00"), resp.raw[:32]
    assert resp.headers.get("Content-Disposition") == 'attachment; filename="database.db"', resp.headers
    conn, rows = db_rows(resp.raw, tmp_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal", "the copy must open on its own"
        assert rows["num"] == [1, 2], rows
        assert rows["word"] == ["hi"], rows
        assert json.loads(rows["obj"][0]) == {"a": 1}, rows
    finally:
        conn.close()
    assert not (tmp_path / "copy.db-wal").exists() or (tmp_path / "copy.db-wal").stat().st_size == 0


# ----------------------------------------------------------------------------------------------------------------
# monitor=True entrypoints and monitored parameters


def test_monitored_entrypoint_records_request_as_sent_and_response(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db")
    assert post(svc, "scale", x="1.5") == {"scaled": 3.0}  # lax: "1.5" -> 1.5; recorded as sent
    assert post(svc, "scale", x=2, factor=3) == {"scaled": 6.0}
    # failed calls are not recorded, as in Daeploy: neither a 422 nor a 500
    assert svc.request("POST", "/scale", json={"x": "many"}).status == 422
    body = monitor(svc, "variables=scale_request&variables=scale_response")
    assert body["scale_request"]["value"] == [{"x": "1.5"}, {"x": 2, "factor": 3}], body
    assert body["scale_response"]["value"] == [{"scaled": 3.0}, {"scaled": 6.0}], body
    # A non-monitored entrypoint records nothing of its own.
    post(svc, "record_many", count=0)
    assert not [v for v in monitor(svc) if v.startswith("record_many")]


def test_daeploy_view_is_the_default(start_service, tmp_path):
    """What Daeploy's /~monitor answered, so its clients keep working: str(datetime) of naive UTC timestamps,
    numbers and bools as floats, strings as they are, anything else as JSON text; ?format=iso is the typed view."""
    svc = start_monitor(start_service, tmp_path / "m.db")
    for name, value in (("n", 3), ("f", 2.5), ("b", True), ("s", "text"), ("o", {"k": [1, None]}), ("z", None)):
        record(svc, name, value)
    resp = svc.request("GET", "/~monitor")
    assert resp.status == 200, resp
    body = resp.body
    assert {k: v["value"] for k, v in body.items()} == {
        "b": [1.0], "f": [2.5], "n": [3.0], "o": ['{"k":[1,null]}'], "s": ["text"], "z": ["null"]}, body
    assert all(isinstance(v, float) for v in body["n"]["value"] + body["b"]["value"]), body
    stamp = body["n"]["timestamp"][0]
    parsed = datetime.fromisoformat(stamp)  # Python reads its own str() back
    assert str(parsed) == stamp and parsed.tzinfo is None, stamp
    typed = monitor(svc, "variables=n")["n"]["timestamp"][0]
    assert datetime.fromisoformat(typed) == parsed.replace(tzinfo=timezone.utc), (typed, stamp)
    # either shape, and a query string's '+' for the space, selects the same sample
    for start in (stamp.replace(" ", "%20"), stamp.replace(" ", "+"), typed.replace("+", "%2B")):
        r = svc.request("GET", f"/~monitor?variables=n&start={start}&end={start}")
        assert r.status == 200 and r.body["n"]["value"] == [3.0], (start, r)
    bad = svc.request("GET", "/~monitor?format=xml")
    assert bad.status == 422 and bad.body["detail"][0]["loc"] == ["query", "format"], bad
    csvs = unzip_csvs(svc.request("GET", "/~monitor/csv?variables=n").raw)
    assert csvs["n.csv"][1] == [stamp, "3.0"], csvs


def test_monitored_parameter_records_every_change(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db")
    for value in (2.5, 3, 0.125):
        resp = svc.request("POST", "/parameters/threshold", json={"value": value})
        assert resp.status == 200, resp
    rejected = svc.request("POST", "/parameters/threshold", json={"value": "not a number"})
    assert rejected.status == 422, rejected
    changes = values(svc, "threshold")
    assert changes[-3:] == [2.5, 3.0, 0.125], changes
    assert "not a number" not in changes
    # An unmonitored parameter is not recorded.
    assert svc.request("POST", "/parameters/label", json={"value": "b"}).status == 200
    monitor(svc, "variables=label", expect=412)


# ----------------------------------------------------------------------------------------------------------------
# Retention, restart, no database


@pytest.mark.parametrize("how", ["flag", "MVI_MONITOR_LIMIT", "DAEPLOY_SERVICE_DB_TABLE_LIMIT"])
def test_row_retention_keeps_the_newest(start_service, tmp_path, how):
    if how == "flag":
        svc = start_monitor(start_service, tmp_path / "m.db", "--monitor-limit", "5rows")
    else:
        svc = start_monitor(start_service, tmp_path / "m.db", env={how: "5 rows"})
    assert post(svc, "record_many", count=20, name="series") == 20
    assert post(svc, "record_many", count=3, name="other") == 3
    assert values(svc, "series") == [15, 16, 17, 18, 19]
    assert values(svc, "other") == [0, 1, 2], "the limit is per variable"
    rows = unzip_csvs(svc.request("GET", "/~monitor/csv?variables=series&format=iso").raw)["series.csv"]
    assert [r[1] for r in rows[1:]] == ["15", "16", "17", "18", "19"], rows
    conn, by_var = db_rows(svc.request("GET", "/~monitor/db").raw, tmp_path)
    conn.close()
    assert by_var["series"] == [15, 16, 17, 18, 19], by_var


def test_age_retention_drops_old_samples(start_service, tmp_path):
    svc = start_monitor(start_service, tmp_path / "m.db", "--monitor-limit", "1s")
    record(svc, "aged", "old")
    time.sleep(1.3)
    record(svc, "aged", "new")
    assert values(svc, "aged") == ["new"]


@pytest.mark.parametrize("limit", ["0rows", "5 parsecs", "-3days", "rows"])
def test_invalid_retention_is_a_usage_error(run_cmd, runtime_bin, tmp_path, limit):
    result = run_cmd([runtime_bin, "--monitor-db", tmp_path / "m.db", "--monitor-limit", limit, "--port", "0",
                      "--host", "127.0.0.1", MONITOR_SERVICE], timeout=10)
    assert result.returncode == 2, result.describe()
    assert "monitor-limit" in result.stderr, result.describe()


def test_values_survive_a_restart(start_service, tmp_path):
    db = tmp_path / "m.db"
    first = start_monitor(start_service, db)
    for v in (1, 2):
        record(first, "kept", v)
    record(first, "blob", {"a": [1, 2]})
    assert post(first, "scale", x=1) == {"scaled": 2.0}
    before = monitor(first)
    assert first.stop() == 0, first.describe()

    second = start_monitor(start_service, db)
    assert monitor(second) == before, "the restarted service answers the same values and timestamps"
    record(second, "kept", 3)
    after = monitor(second, "variables=kept")
    assert after["kept"]["value"] == [1, 2, 3], after
    assert after["kept"]["timestamp"][:2] == before["kept"]["timestamp"]


def test_service_that_never_monitors_creates_no_database(start_service, tmp_path):
    svc = start_service(NO_MONITOR_SERVICE, *QUICK_STOP, cwd=tmp_path)
    resp = svc.request("POST", "/hello", json={"name": "Bob"})
    assert resp.status == 200 and resp.body == "Hello Bob", resp
    assert svc.request("POST", "/parameters/level", json={"value": 2}).status == 200
    assert svc.stop() == 0, svc.describe()
    default = tmp_path / ".mvi" / "service-monitor.db"
    assert not default.exists(), f"{default} was created by a service that never monitors"
    assert not (tmp_path / ".mvi").exists(), sorted(p.name for p in tmp_path.iterdir())


def test_default_database_path_is_under_the_working_directory(start_service, tmp_path):
    """The counterpart of the test above: once something is stored, .mvi/<name>-monitor.db appears in the cwd."""
    svc = start_service(MONITOR_SERVICE, *QUICK_STOP, "--name", "mon", cwd=tmp_path)
    record(svc, "x", 1)
    assert values(svc, "x") == [1]
    assert (tmp_path / ".mvi" / "mon-monitor.db").is_file(), sorted(str(p) for p in tmp_path.rglob("*"))


def test_reading_monitor_endpoints_creates_no_database(start_service, tmp_path):
    """Reading /~monitor is not monitoring: on a service that never stored anything it answers an empty result
    without creating .mvi/<name>-monitor.db (which would also fail on a read-only working directory)."""
    svc = start_service(NO_MONITOR_SERVICE, *QUICK_STOP, cwd=tmp_path)
    assert monitor(svc) == {}
    assert svc.request("GET", "/~monitor").body == {}
    csv_zip = svc.request("GET", "/~monitor/csv")
    assert csv_zip.status == 412, csv_zip  # Daeploy's answer when nothing is monitored
    # Daeploy answered its (empty) database file; so does the runtime, without creating one of its own
    db = svc.request("GET", "/~monitor/db")
    assert db.status == 200 and db.raw.startswith(b"SQLite format 3\x00"), db
    assert db.headers.get("Content-Disposition") == 'attachment; filename="database.db"', db.headers
    conn, rows = db_rows(db.raw, tmp_path)
    conn.close()
    assert rows == {}, rows
    assert svc.stop() == 0, svc.describe()
    created = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if not p.name.startswith("copy.db"))
    assert created == [], f"GET /~monitor, /~monitor/csv and /~monitor/db created {created} in the working directory"
