"""async def entrypoints and @service.call_every jobs (SPEC §2.1, §9; python/mvi/_runtime_loop.py).

- async entrypoints are awaited on one runtime-owned asyncio loop: they run concurrently even with --threads 1,
  their exceptions answer 500 with the request id (traceback only in the log), HTTPException keeps its status,
  logging and notify() inside them carry the right call (entrypoint, request id) although one thread runs them all;
- sync entrypoints run on --threads executor threads (8 threads: 8 blocking calls at once; 1 thread: one by one);
- periodic jobs: counted over a bounded window (±1 run), never overlapping, an overrun logs a WARNING and raises a
  WARNING notification, an exception is logged with its traceback and the schedule continues, wait_first delays
  the first run, a blocking sync job does not stall the loop;
- SIGTERM with jobs running and an async call in flight: the call completes, the process exits 0 promptly.

Services under tests/e2e/services/sdk_*. Every wait is bounded; the timing bounds are generous.
"""

import concurrent.futures
import json
import signal
import time
import uuid
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parent / "services"
ASYNC_SERVICE = SERVICES / "sdk_async" / "service.py"
SYNC_SERVICE = SERVICES / "sdk_sync_sleep" / "service.py"
JOBS_SERVICE = SERVICES / "sdk_jobs" / "service.py"
SHUTDOWN_SERVICE = SERVICES / "sdk_shutdown" / "service.py"
LOG_WAIT = 5.0  # seconds a log line may take to reach stdout
QUICK_STOP = ("--drain-delay", "0")  # teardown's SIGTERM need not wait the default 1 s drain


# ----------------------------------------------------------------------------------------------------------------
# Helpers


def new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def json_records(svc):
    """The JSON log lines the service printed on stdout so far (run with --log-format json)."""
    with svc._cond:
        lines = list(svc.stdout_lines)
    records = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records


def wait_record(svc, predicate, timeout=LOG_WAIT):
    """Wait (bounded) for a JSON log record matching `predicate`; returns it or None."""
    deadline = time.monotonic() + timeout
    while True:
        for rec in json_records(svc):
            if predicate(rec):
                return rec
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def concurrent_calls(svc, calls, timeout):
    """Send every (method, path, json, headers) of `calls` at once, each on its own connection.

    Returns (results in order, elapsed seconds from the first send to the last answer)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        started = time.monotonic()
        futures = [
            pool.submit(svc.request, method, path, json=body, headers=headers, timeout=timeout)
            for method, path, body, headers in calls
        ]
        results = [f.result(timeout=timeout + 5) for f in futures]
        return results, time.monotonic() - started


# ----------------------------------------------------------------------------------------------------------------
# async entrypoints


@pytest.fixture(scope="module")
def async_svc(module_launcher, tmp_path_factory):
    # Default --threads (1): async calls must not need an executor each.
    db = tmp_path_factory.mktemp("async") / "monitor.db"
    return module_launcher.start(ASYNC_SERVICE, "--log-format", "json", "--monitor-db", db, *QUICK_STOP)


def test_async_entrypoints_run_concurrently_on_one_worker(async_svc):
    calls = [("POST", "/nap", {"seconds": 1.0}, None)] * 8
    results, elapsed = concurrent_calls(async_svc, calls, timeout=15)
    for r in results:
        assert r.status == 200 and r.body == 1.0, f"POST /nap: {r}\n{async_svc.describe()}"
    assert elapsed >= 0.95, f"8 calls of asyncio.sleep(1) answered in {elapsed:.2f} s: they did not sleep"
    assert elapsed < 3.0, (
        f"8 concurrent calls of an async entrypoint sleeping 1 s took {elapsed:.2f} s (expected < 3 s): "
        f"they were not awaited concurrently on the loop\n{async_svc.describe()}"
    )


def test_async_exception_is_500_with_request_id_and_traceback_in_log(async_svc):
    rid = new_id("aexp")
    resp = async_svc.request("POST", "/explode", json={"tag": rid}, headers={"X-Request-ID": rid})
    assert resp.status == 500, f"{resp}\n{async_svc.describe()}"
    assert resp.body == {"detail": "Internal Server Error", "request_id": rid}, resp
    assert resp.headers.get("X-Request-ID") == rid
    assert b"Traceback" not in resp.raw and b"async-explode" not in resp.raw, f"traceback leaked: {resp}"

    rec = wait_record(async_svc, lambda r: r.get("level") == "ERROR" and r.get("request_id") == rid)
    assert rec, f"no ERROR record with request_id={rid}\n{async_svc.describe()}"
    assert rec.get("entrypoint") == "explode", rec
    tb = rec.get("traceback", "")
    assert "Traceback (most recent call last)" in tb and f"ValueError: async-explode {rid}" in tb, rec
    assert "in explode" in tb, f"the traceback should start in user code: {tb}"

    # The service keeps serving afterwards.
    again = async_svc.request("POST", "/nap", json={"seconds": 0.01})
    assert again.status == 200 and again.body == 0.01, again


@pytest.mark.parametrize("code, detail", [(409, "taken"), (404, "no such model"), (418, "teapot")])
def test_async_http_exception_keeps_its_status(async_svc, code, detail):
    resp = async_svc.request("POST", "/refuse", json={"code": code, "detail": detail})
    assert resp.status == code, f"{resp}\n{async_svc.describe()}"
    assert resp.body == {"detail": detail}, resp


def test_async_logging_carries_each_calls_request_id(async_svc):
    rid_a, rid_b = new_id("alog"), new_id("blog")
    calls = [
        ("POST", "/chatty", {"tag": rid_a, "seconds": 0.5}, {"X-Request-ID": rid_a}),
        ("POST", "/chatty", {"tag": rid_b, "seconds": 0.5}, {"X-Request-ID": rid_b}),
    ]
    results, elapsed = concurrent_calls(async_svc, calls, timeout=10)
    assert [r.status for r in results] == [200, 200], results
    assert [r.body for r in results] == [rid_a, rid_b], results
    assert elapsed < 0.95, f"two 0.5 s async calls took {elapsed:.2f} s: not concurrent"

    for rid in (rid_a, rid_b):
        assert wait_record(async_svc, lambda r, rid=rid: r.get("message") == f"chatty-after {rid}"), (
            f"no 'chatty-after {rid}' line\n{async_svc.describe()}"
        )
    records = json_records(async_svc)
    mine = [r for r in records if r.get("logger") == "sdk_async" and r.get("message", "").startswith("chatty-")]
    for rid in (rid_a, rid_b):
        lines = [r for r in mine if r["message"].endswith(rid)]
        assert len(lines) == 2, f"expected a before and an after line for {rid}: {lines}"
        for r in lines:
            assert r.get("request_id") == rid, f"line of call {rid} carries request_id {r.get('request_id')}: {r}"
            assert r.get("entrypoint") == "chatty", r
    # The two calls really interleaved on the loop: both "before" lines precede both "after" lines.
    order = [r["message"].split()[0] for r in mine if r["message"].endswith((rid_a, rid_b))]
    assert order == ["chatty-before", "chatty-before", "chatty-after", "chatty-after"], order


def test_notify_inside_async_records_entrypoint_and_request_id(async_svc):
    rid = new_id("anot")
    resp = async_svc.request("POST", "/alert", json={"tag": rid}, headers={"X-Request-ID": rid})
    assert resp.status == 200 and resp.body == rid, resp
    listed = async_svc.request("GET", "/notifications")
    assert listed.status == 200, listed
    mine = [n for n in listed.body if n["msg"] == f"async-alert {rid}"]
    assert len(mine) == 1, f"notification not found: {listed.body}"
    note = mine[0]
    assert note["severity"] == 1, note
    assert note["entrypoint"] == "alert", note
    assert note["request_id"] == rid, note


# ----------------------------------------------------------------------------------------------------------------
# sync entrypoints and --threads


def test_sync_entrypoints_use_all_workers(start_service, tmp_path):
    svc = start_service(SYNC_SERVICE, "--threads", "8", "--monitor-db", tmp_path / "m.db", *QUICK_STOP)
    calls = [("POST", "/block", {"seconds": 1.0}, None)] * 8
    results, elapsed = concurrent_calls(svc, calls, timeout=15)
    assert all(r.status == 200 and r.body == 1.0 for r in results), results
    assert elapsed < 3.0, (
        f"8 concurrent time.sleep(1) calls with --threads 8 took {elapsed:.2f} s (expected < 3 s)\n{svc.describe()}"
    )


def test_sync_entrypoints_with_one_worker_run_one_at_a_time(start_service, tmp_path):
    svc = start_service(SYNC_SERVICE, "--threads", "1", "--monitor-db", tmp_path / "m.db", *QUICK_STOP)
    calls = [("POST", "/block", {"seconds": 1.0}, None)] * 8
    results, elapsed = concurrent_calls(svc, calls, timeout=20)
    assert all(r.status == 200 and r.body == 1.0 for r in results), results
    assert elapsed >= 7.0, (
        f"8 concurrent time.sleep(1) calls with --threads 1 took only {elapsed:.2f} s: --threads had no effect"
    )
    assert elapsed < 14.0, f"8 calls of 1 s on one worker took {elapsed:.2f} s"


# ----------------------------------------------------------------------------------------------------------------
# periodic jobs


WINDOW = 2.0  # seconds over which job runs are counted


@pytest.fixture(scope="module")
def jobs(module_launcher, tmp_path_factory):
    """Runs the jobs service, pings its async entrypoint for WINDOW seconds, and returns what was observed:
    {svc, a, b (wall clock bounds of the window), runs (per job: [start, end] lists), loaded_at, ping_latencies}."""
    db = tmp_path_factory.mktemp("jobs") / "monitor.db"
    svc = module_launcher.start(JOBS_SERVICE, "--log-format", "json", "--monitor-db", db, *QUICK_STOP)
    # Let every job (wait_first's 1 s included) get going before the window opens.
    time.sleep(1.2)
    a = time.time()
    latencies = []
    while time.time() - a < WINDOW:
        t0 = time.monotonic()
        resp = svc.request("POST", "/ping", timeout=5)
        latencies.append(time.monotonic() - t0)
        assert resp.status == 200, f"POST /ping: {resp}\n{svc.describe()}"
        time.sleep(0.1)
    b = time.time()
    resp = svc.request("POST", "/runs", timeout=5)
    assert resp.status == 200, f"POST /runs: {resp}\n{svc.describe()}"
    return {"svc": svc, "a": a, "b": b, "runs": resp.body["runs"], "loaded_at": resp.body["loaded_at"],
            "ping_latencies": latencies}


def runs_in_window(jobs, name):
    return [start for start, _ in jobs["runs"][name] if jobs["a"] <= start <= jobs["b"]]


@pytest.mark.parametrize("name, interval", [("steady", 0.2), ("steady_async", 0.25)])
def test_call_every_runs_at_its_interval(jobs, name, interval):
    window = jobs["b"] - jobs["a"]
    expected = window / interval
    counted = len(runs_in_window(jobs, name))
    assert abs(counted - expected) <= 1.0 + 1e-9, (
        f"job {name!r} (every {interval} s) ran {counted} times in {window:.2f} s, expected {expected:.1f} ± 1; "
        f"runs: {jobs['runs'][name]}"
    )
    # A job that keeps within its interval raises no overrun notification.
    notes = jobs["svc"].request("GET", "/notifications").body
    assert not [n for n in notes if f"'{name}'" in n["msg"]], notes


def test_overrunning_job_never_overlaps_and_warns(jobs):
    svc = jobs["svc"]
    runs = jobs["runs"]["slow"]
    assert len(runs) >= 4, f"job 'slow' (0.35 s work, 0.2 s interval) ran only {len(runs)} times: {runs}"
    for (s1, e1), (s2, _) in zip(runs, runs[1:]):
        assert s2 >= e1 - 0.005, f"runs of 'slow' overlapped: one ended at {e1}, the next started at {s2}"
    # Runs follow each other without the full interval in between (the next run is due at once).
    gaps = [s2 - e1 for (_, e1), (s2, _) in zip(runs, runs[1:])]
    assert max(gaps) < 0.2, f"gaps between overrunning runs: {gaps}"

    def is_overrun_line(r):
        msg = r.get("message", "")
        return r.get("level") == "WARNING" and r.get("logger") != "mvi.notify" and "'slow'" in msg and "interval" in msg

    warning = wait_record(svc, is_overrun_line)
    assert warning, f"no WARNING log line for the overrun of 'slow'\n{svc.describe()}"
    assert "0.2 s" in warning["message"], warning

    notes = svc.request("GET", "/notifications").body
    mine = [n for n in notes if n["msg"] == "Periodic job 'slow' overran its 0.2 s interval"]
    assert len(mine) == 1, f"expected one (repeated) overrun notification for 'slow': {notes}"
    assert mine[0]["severity"] == 1 and mine[0]["severity_name"] == "WARNING", mine[0]
    assert mine[0]["counter"] >= 3, f"each overrun should raise the notification's counter: {mine[0]}"


def test_job_that_raises_keeps_its_schedule(jobs):
    svc = jobs["svc"]
    all_runs = [start for start, _ in jobs["runs"]["failing"]]
    before = [t for t in all_runs if t < jobs["a"]]
    during = runs_in_window(jobs, "failing")
    assert before, "job 'failing' never ran before the window"
    expected = (jobs["b"] - jobs["a"]) / 0.2
    assert abs(len(during) - expected) <= 1.0 + 1e-9, (
        f"job 'failing' ran {len(during)} times in the window after raising, expected {expected:.1f} ± 1"
    )
    # It is still running now.
    later = svc.request("POST", "/runs").body["runs"]["failing"]
    deadline = time.monotonic() + 2.0
    while len(later) <= len(all_runs) and time.monotonic() < deadline:
        time.sleep(0.1)
        later = svc.request("POST", "/runs").body["runs"]["failing"]
    assert len(later) > len(all_runs), "job 'failing' stopped running after raising"

    errors = [r for r in json_records(svc) if r.get("level") == "ERROR" and "'failing'" in r.get("message", "")]
    assert len(errors) >= 2, f"each failing run should be logged\n{svc.describe()}"
    tb = errors[0].get("traceback", "")
    assert "Traceback (most recent call last)" in tb and "RuntimeError: job-failure-marker" in tb, errors[0]
    assert "in failing" in tb, tb


def test_wait_first_delays_the_first_run(jobs):
    loaded = jobs["loaded_at"]
    late = [start for start, _ in jobs["runs"]["late"]]
    assert late, "job 'late' (every 1 s, wait_first=True) never ran"
    assert late[0] - loaded >= 0.95, f"wait_first job ran {late[0] - loaded:.3f} s after load (expected >= 1 s)"
    assert late[0] - loaded < 2.5, f"wait_first job first ran only {late[0] - loaded:.3f} s after load"
    steady = jobs["runs"]["steady"][0][0]
    assert steady - loaded < 0.9, f"job without wait_first first ran {steady - loaded:.3f} s after load"
    assert steady < late[0] - 0.5


def test_blocking_sync_job_does_not_stall_async_entrypoints(jobs):
    blocker = jobs["runs"]["blocker"]
    assert len(blocker) >= 3, f"blocking job ran {len(blocker)} times: {blocker}"
    latencies = jobs["ping_latencies"]
    assert len(latencies) >= 5, latencies
    assert max(latencies) < 0.3, (
        f"async entrypoint latencies while a sync job blocked its thread: {[round(x, 3) for x in latencies]}"
    )


# ----------------------------------------------------------------------------------------------------------------
# SIGTERM with jobs and an async call in flight


def test_sigterm_with_jobs_running_finishes_async_call_and_exits_0(start_service, tmp_path):
    drain = 0.5
    svc = start_service(SHUTDOWN_SERVICE, "--drain-delay", str(drain), "--monitor-db", tmp_path / "m.db")
    time.sleep(0.3)  # the jobs are mid-run
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(svc.request, "POST", "/linger", json={"seconds": 1.5}, timeout=10)
        assert svc.wait_for_output(r"linger-started", timeout=5), f"call never started\n{svc.describe()}"
        sent = time.monotonic()
        svc.signal(signal.SIGTERM)
        resp = pending.result(timeout=15)
    assert resp.status == 200 and resp.body == "finished", f"in-flight async call: {resp}\n{svc.describe()}"
    code = svc.wait(drain + 2.0 - (time.monotonic() - sent))
    took = time.monotonic() - sent
    assert code is not None, f"still running {took:.1f} s after SIGTERM (drain {drain} s)\n{svc.describe()}"
    assert code == 0, f"exit code {code}\n{svc.describe()}"
    assert took <= drain + 2.0, f"exited {took:.2f} s after SIGTERM"
    assert "linger-finished" in svc.output()


LONG_JOB = """
import time
from mvi import service

@service.call_every(0.1)
def long_job():
    print("long-job-started", flush=True)
    time.sleep(4)

@service.entrypoint
def hello() -> str:
    return "hi"
"""


def test_sigterm_does_not_wait_for_a_long_sync_job(start_service, tmp_path):
    """A sync job in the middle of a long run must not hold the exit past drain + graceful timeout: Python cannot
    interrupt it, so (like an in-flight request at the graceful timeout) it is abandoned."""
    path = tmp_path / "service.py"
    path.write_text(LONG_JOB)
    drain, graceful = 0.2, 1.0
    svc = start_service(path, "--drain-delay", str(drain), "--graceful-timeout", str(graceful),
                        "--monitor-db", str(tmp_path / "m.db"))
    assert svc.wait_for_output("long-job-started", timeout=5), svc.describe()
    sent = time.monotonic()
    svc.signal(signal.SIGTERM)
    code = svc.wait(drain + graceful + 2.0)
    took = time.monotonic() - sent
    if code is None:
        svc.wait(4.0)
        took = time.monotonic() - sent
    assert code == 0, (
        f"mvi-runtime exited only {took:.1f} s after SIGTERM (drain {drain} s, graceful timeout {graceful} s): "
        f"shutdown waits for a running sync call_every job (time.sleep(4)) to return\n{svc.describe()}"
    )
