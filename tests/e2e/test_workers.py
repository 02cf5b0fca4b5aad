"""Isolated mode (issue 13, SPEC §9): `--workers N` runs the service in supervised worker processes behind the
one C++ front. A worker that dies answers its call 502 at once, healthy calls go on, it comes back after the
back-off with the parameters as they were; logs, notifications and stored values from workers reach the front;
jobs run in exactly one worker; a service that cannot import exits non-zero with its traceback."""

import os
import re
import signal
import socket
import threading
import time

import pytest

from conftest import SERVICES_DIR, wait_until

SERVICE = SERVICES_DIR / "workers" / "service.py"
IMPORT_ERROR = SERVICES_DIR / "import_error" / "service.py"

# Fast restarts keep the suite short; the back-off itself is checked against this value.
BACKOFF = "0.2"


def start(launcher, *args, env=None):
    return launcher.start(SERVICE, "--workers", "2", "--restart-backoff", BACKOFF, "--drain-delay", "0", *args, env=env)


def status(svc):
    r = svc.request("GET", "/status")
    assert r.status == 200, r
    return r.body


def all_running(svc, restarts=None):
    """The workers, once both are RUNNING (and, if given, have been restarted that many times in all)."""
    workers = status(svc)["workers"]
    ok = len(workers) == 2 and all(w["state"] == "RUNNING" for w in workers)
    return ok and (restarts is None or sum(w["restarts"] for w in workers) == restarts) and workers


def children(pid):
    """(pid, state) of the direct children of `pid`, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append((int(entry), fields[0]))
    return out


def test_calls_run_in_worker_processes_not_in_the_front(start_service):
    svc = start(start_service)
    workers = wait_until(lambda: all_running(svc), 10)
    assert workers, status(svc)
    pids = {w["pid"] for w in workers}
    assert len(pids) == 2 and svc.proc.pid not in pids, workers
    assert {pid for pid, _ in children(svc.proc.pid)} == pids

    seen = set()
    results = []

    def call():
        results.append(svc.request("POST", "/whoami", json={"delay": 0.2}))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for r in results:
        assert r.status == 200, r
        seen.add(r.body["pid"])
    assert seen == pids, "two slow calls at once run in both workers"
    body = status(svc)
    assert body["executors"]["count"] == 16  # the most: 2 workers of up to 8 executor threads (--threads)
    assert sum(w["calls"] for w in body["workers"]) == 4
    assert all(w["rss_bytes"] > 1_000_000 for w in body["workers"]), body["workers"]
    metrics = svc.request("GET", "/metrics").text
    for w in body["workers"]:
        assert f'mvi_worker_busy{{worker="{w["index"]}"}} 0' in metrics, metrics
        assert re.search(rf'mvi_worker_rss_bytes{{worker="{w["index"]}"}} [1-9]', metrics), metrics
    count = re.search(r"mvi_worker_transport_seconds_count (\d+)", metrics)
    assert count and int(count.group(1)) >= 4, metrics


def healthy_load(svc, connections, calls, statuses):
    """Starts `connections` threads that each POST /whoami `calls` times on one keep-alive connection,
    appending every status to `statuses`; returns the threads."""

    def caller():
        conn = svc.connection(timeout=15)
        try:
            for _ in range(calls):
                statuses.append(svc.request("POST", "/whoami", json={}, conn=conn).status)
        finally:
            conn.close()

    threads = [threading.Thread(target=caller) for _ in range(connections)]
    for t in threads:
        t.start()
    return threads


def run_with_healthy_load(svc, path, payload, request_id):
    """POST `path` while two connections call a healthy entrypoint 25 times each; returns (answer, seconds,
    the healthy statuses)."""
    healthy = []
    threads = healthy_load(svc, 2, 25, healthy)
    started = time.monotonic()
    r = svc.request("POST", path, json=payload, headers={"X-Request-ID": request_id}, timeout=20)
    elapsed = time.monotonic() - started
    for t in threads:
        t.join(20)
    return r, elapsed, healthy


@pytest.mark.parametrize(
    "path, payload, cause",
    [
        ("/segfault", {}, r"was killed by SIGSEGV"),
        ("/hard_exit", {"code": 3}, r"exited with status 3"),
    ],
)
def test_a_worker_that_dies_answers_502_and_comes_back(start_service, path, payload, cause):
    svc = start(start_service)
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    r = svc.request("POST", "/parameters/factor", json={"value": 7})
    assert r.status == 200, r

    r, elapsed, healthy = run_with_healthy_load(svc, path, payload, "dies-1")

    assert r.status == 502, r
    assert r.body["request_id"] == "dies-1", r.body
    assert re.search(cause, r.body["detail"]), r.body
    assert elapsed < 2.0, f"the faulting call took {elapsed:.2f} s"
    assert len(healthy) == 50 and set(healthy) == {200}, healthy
    assert svc.request("GET", "/health/live").status == 200

    # Back within the back-off, with the parameter as it was set before the fault.
    workers = wait_until(lambda: all_running(svc), 5)
    assert workers, status(svc)
    assert sum(w["restarts"] for w in workers) == 1, workers
    assert any(re.search(cause, w["last_exit"] or "") for w in workers), workers
    metric_cause = "crash" if "killed" in cause else "exit"
    assert re.search(rf'mvi_worker_restarts_total{{worker="\d",cause="{metric_cause}"}} 1', svc.request("GET", "/metrics").text)
    for _ in range(4):
        r = svc.request("POST", "/factor", json={})
        assert (r.status, r.body) == (200, 7), r
    assert re.search(rf"ERROR +mvi.runtime: worker \d \(pid \d+\) {cause} while running .*request_id=dies-1", svc.output())
    # The dead process was reaped: the front has exactly its two live workers as children, no zombie.
    kids = children(svc.proc.pid)
    assert len(kids) == 2 and all(state != "Z" for _, state in kids), kids


def test_calls_a_dead_worker_had_not_started_go_to_another_worker(start_service):
    # One executor per worker: a call waiting in a worker whose call sleeps stays unstarted (with more, an
    # executor wakes for it while the first call sleeps, and it would die with the worker).
    svc = start(start_service, "--threads", "1")
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    results = {}

    def call(name, path, payload):
        results[name] = svc.request("POST", path, json=payload, headers={"X-Request-ID": name}, timeout=15)

    # Each worker holds two calls (one running, one waiting): the crash's worker holds one healthy call that
    # it never starts. That call must be answered by the other worker, not lost with the crash.
    threads = [threading.Thread(target=call, args=("crash", "/segfault_after", {"delay": 0.4}))]
    threads += [threading.Thread(target=call, args=(f"ok-{i}", "/whoami", {"delay": 0.3})) for i in range(4)]
    threads[0].start()
    time.sleep(0.05)
    for t in threads[1:]:
        t.start()
        time.sleep(0.01)
    for t in threads:
        t.join(20)
    assert results["crash"].status == 502, results["crash"]
    for i in range(4):
        assert results[f"ok-{i}"].status == 200, (i, results[f"ok-{i}"])
    assert svc.wait_for_output(r"worker \d had not started 1 call\(s\); they go to the other workers", 5), svc.describe()


def replaced(svc, cause, factor):
    """The worker stopped for `cause` is back (one restart in all) with the parameter `factor` set before the
    fault, and the restart metric names the cause; returns the workers."""
    # The 504/502 may come before the front has seen the worker end: wait for the replacement.
    workers = wait_until(lambda: all_running(svc, restarts=1), 5)
    assert workers, status(svc)
    assert svc.request("POST", "/factor", json={}).body == factor
    assert re.search(rf'mvi_worker_restarts_total{{worker="\d",cause="{cause}"}} 1', svc.request("GET", "/metrics").text)
    return workers


def test_a_call_past_the_call_timeout_is_504_and_its_worker_is_replaced(start_service):
    svc = start(start_service, "--call-timeout", "1")
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    assert svc.request("POST", "/parameters/factor", json={"value": 9}).status == 200
    r, elapsed, healthy = run_with_healthy_load(svc, "/spin_forever", {}, "spin-1")
    assert r.status == 504, r
    assert "--call-timeout (1 s)" in r.body["detail"] and r.body["request_id"] == "spin-1", r.body
    assert 0.9 <= elapsed < 3.0, elapsed
    assert len(healthy) == 50 and set(healthy) == {200}, healthy
    assert svc.request("GET", "/health/live").status == 200
    replaced(svc, "call_timeout", factor=9)
    assert re.search(r"worker \d \(pid \d+\) was stopped: 'spin_forever' \[request_id=spin-1\] ran longer than "
                     r"--call-timeout", svc.output()), svc.describe()


def test_a_worker_over_its_memory_limit_is_stopped_and_replaced(start_service):
    # One executor per worker: the hog sleeps once it has allocated, and with more executors a healthy call
    # could start beside it in the same process and be lost with it (as calls running there are, by design).
    svc = start(start_service, "--worker-memory-limit", "512M", "--threads", "1")
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    assert svc.request("POST", "/parameters/factor", json={"value": 11}).status == 200
    r, elapsed, healthy = run_with_healthy_load(svc, "/allocate", {"mib": 2048}, "hog-1")
    assert r.status == 502, r
    assert "over --worker-memory-limit (512 MiB)" in r.body["detail"] and r.body["request_id"] == "hog-1", r.body
    assert elapsed < 5.0, elapsed
    assert len(healthy) == 50 and set(healthy) == {200}, healthy
    assert svc.request("GET", "/health/live").status == 200
    workers = replaced(svc, "memory_limit", factor=11)
    assert all(w["rss_bytes"] < 512 << 20 for w in workers), workers
    assert re.search(r"worker \d \(pid \d+\) was stopped: it used \d+ MiB, over --worker-memory-limit \(512 MiB\) "
                     r"while running 'allocate' \[request_id=hog-1\]", svc.output()), svc.describe()


def test_max_requests_recycles_workers_without_a_failed_call(start_service):
    svc = start(start_service, "--max-requests", "20", "--max-requests-jitter", "5")
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    statuses = []
    for t in healthy_load(svc, 4, 50, statuses):
        t.join(60)
    assert len(statuses) == 200 and set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    workers = wait_until(lambda: all_running(svc), 5)
    assert workers, status(svc)
    # 200 calls at 20–25 per process: at least 6 recycles in all.
    assert sum(w["restarts"] for w in workers) >= 6, workers
    assert re.search(r"recycled after 2\d calls \(--max-requests\); its replacement starts now", svc.output())
    recycles = re.findall(r'mvi_worker_restarts_total{worker="\d",cause="recycle"} (\d+)', svc.request("GET", "/metrics").text)
    assert sum(map(int, recycles)) >= 6, recycles
    assert "ERROR" not in svc.output(), svc.describe()


def test_an_async_call_in_a_worker_is_cancelled_when_its_client_leaves(start_service):
    svc = start(start_service)
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    body = b'{"seconds": 30}'
    s = socket.create_connection(("127.0.0.1", svc.port), timeout=5)
    s.sendall(b"POST /wait_async HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(0.3)
    s.close()
    assert svc.wait_for_output(r"WARNING +workers: wait_async cancelled in \d+", 5), svc.describe()
    cancelled = wait_until(lambda: re.search(r'mvi_entrypoint_cancelled_total{entrypoint="wait_async"} 1',
                                             svc.request("GET", "/metrics").text), 5)
    assert cancelled, svc.request("GET", "/metrics").text
    assert status(svc)["executors"]["running"] == [], "the worker is free again"


def test_ready_is_503_while_no_worker_runs(start_service):
    svc = start_service.start(SERVICE, "--workers", "1", "--restart-backoff", "1.5", "--drain-delay", "0")
    assert svc.request("GET", "/health/ready").status == 200
    r = svc.request("POST", "/hard_exit", json={"code": 4})
    assert r.status == 502, r
    r = svc.request("GET", "/health/ready")
    assert r.status == 503 and r.body["status"] == "no_worker", r
    assert svc.request("GET", "/health/live").status == 200
    # A call made while no worker runs waits for the restarted one instead of failing.
    r = svc.request("POST", "/whoami", json={}, timeout=10)
    assert r.status == 200, r
    assert svc.request("GET", "/health/ready").status == 200


def test_every_answer_reports_the_generation_whose_value_the_call_saw(start_service):
    svc = start(start_service)
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    mismatches = []
    answers = []
    done = threading.Event()

    def caller():
        conn = svc.connection(timeout=10)
        try:
            while not done.is_set():
                r = svc.request("POST", "/factor", json={"delay": 0.002}, conn=conn)
                assert r.status == 200, r
                answers.append((int(r.headers["X-Parameters-Generation"]), r.body))
        finally:
            conn.close()

    threads = [threading.Thread(target=caller) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for value in range(1, 101):
            r = svc.request("POST", "/parameters/factor", json={"value": value * 10})
            assert r.status == 200, r
            assert int(r.headers["X-Parameters-Generation"]) == value
    finally:
        time.sleep(0.05)
        done.set()
        for t in threads:
            t.join(10)
    # Generation g set the value 10 * g (generation 0: the declared 1).
    for generation, value in answers:
        if value != (generation * 10 if generation else 1):
            mismatches.append((generation, value))
    assert len(answers) > 50, len(answers)
    assert not mismatches, mismatches[:10]
    # After the POST answered, every worker has the change.
    for _ in range(6):
        r = svc.request("POST", "/factor", json={})
        assert (r.body, r.headers["X-Parameters-Generation"]) == (1000, "100"), r


def test_logs_notifications_stores_and_parameter_changes_from_workers_reach_the_front(start_service, tmp_path):
    svc = start(start_service, "--monitor-db", str(tmp_path / "monitor.db"))
    r = svc.request("POST", "/speak", json={"msg": "hello-from-worker"}, headers={"X-Request-ID": "speak-1"})
    assert r.status == 200, r
    assert svc.wait_for_output(r"WARNING +workers: spoken hello-from-worker \[entrypoint=speak request_id=speak-1\]")
    assert svc.wait_for_output(r"INFO +stdout: printed hello-from-worker \[entrypoint=speak request_id=speak-1\]")
    notes = svc.request("GET", "/notifications").body
    spoken = [n for n in notes if n["msg"] == "hello-from-worker"]
    assert spoken and spoken[0]["entrypoint"] == "speak" and spoken[0]["request_id"] == "speak-1", notes
    logs = svc.request("GET", "/logs?tail=200").text  # the front's ring holds the workers' records too
    assert re.search(r"spoken hello-from-worker \[entrypoint=speak request_id=speak-1\]", logs), logs
    stored = wait_until(lambda: svc.request("GET", "/~monitor?variables=spoken").body.get("spoken"), 5)
    assert stored and stored["value"] == ["hello-from-worker"], stored

    # service.set_parameter() in one worker is applied in the front and then in every worker.
    r = svc.request("POST", "/set_factor", json={"value": 42})
    assert r.status == 200, r
    assert wait_until(lambda: svc.request("GET", "/parameters").body["factor"] == 42, 5)
    for _ in range(6):
        assert svc.request("POST", "/factor", json={}).body == 42


def test_jobs_run_in_exactly_one_worker(start_service):
    svc = start(start_service, env={"WORKERS_TEST_JOBS": "1"})
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    time.sleep(2.0)
    ticks = re.findall(r"workers: tick from (\d+)", svc.output())
    # call_every(0.2) for about 2 s: about 10 runs for the whole service, not 10 per worker.
    assert 6 <= len(ticks) <= 15, len(ticks)
    assert len(set(ticks)) == 1, "one worker runs the jobs"
    owner = [w for w in status(svc)["workers"] if w["jobs"]]
    assert len(owner) == 1 and str(owner[0]["pid"]) == ticks[0], status(svc)["workers"]

    # The jobs move when their worker dies.
    os.kill(owner[0]["pid"], signal.SIGKILL)
    assert svc.wait_for_output(r"the periodic jobs move to another worker", 5)
    survivor = owner[0]["pid"]
    moved = wait_until(
        lambda: [t for t in re.findall(r"workers: tick from (\d+)", svc.output()) if int(t) != survivor], 5
    )
    assert moved, svc.describe()


def test_a_worker_that_registers_a_different_service_is_refused(start_service, tmp_path):
    drift = SERVICES_DIR / "workers_drift" / "service.py"
    svc = start_service.start(drift, "--workers", "2", "--restart-backoff", "5", "--drain-delay", "0",
                              env={"DRIFT_COUNTER": str(tmp_path / "count")})
    assert svc.wait_for_output(r"worker 1 \(pid \d+\) registered a different service than the first worker", 10), \
        svc.describe()
    workers = wait_until(lambda: [w for w in status(svc)["workers"] if w["state"] == "FAILED"], 5)
    assert workers and workers[0]["index"] == 1, status(svc)["workers"]
    assert "was refused" in workers[0]["last_exit"], workers
    assert re.search(r'mvi_worker_restarts_total{worker="1",cause="refused"} 1', svc.request("GET", "/metrics").text)
    # The first worker's service is the one served, and it still answers.
    r = svc.request("POST", "/answer_1", json={})
    assert (r.status, r.body) == (200, 1), r
    assert svc.request("POST", "/answer_2", json={}).status == 404


def test_a_service_that_cannot_import_exits_non_zero_with_its_traceback(start_service):
    svc = start_service.start(IMPORT_ERROR, "--workers", "2", wait=False)
    code = svc.wait(20)
    assert code == 3, svc.describe()
    assert "import-time failure marker 51c2" in svc.output(), svc.describe()
    assert "Traceback" in svc.output(), svc.describe()


def test_workers_end_when_the_front_is_killed(start_service):
    # The OOM killer or `kill -9` ends the front without a word: its workers must not live on.
    svc = start(start_service)
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    pids = [w["pid"] for w in status(svc)["workers"]]
    outcome = []

    def slow_call():
        try:
            outcome.append(svc.request("POST", "/whoami", json={"delay": 30}, timeout=5))
        except OSError as exc:  # the front died with the connection open
            outcome.append(exc)

    busy = threading.Thread(target=slow_call)
    busy.start()  # one worker is inside a call when the front dies
    time.sleep(0.2)
    svc.proc.kill()
    svc.wait(5)

    def gone(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # ended; its new parent reaps it
        except OSError:
            return True

    assert wait_until(lambda: all(gone(pid) for pid in pids), 5), [(pid, gone(pid)) for pid in pids]
    busy.join(10)
    assert outcome and isinstance(outcome[0], OSError), outcome


def test_sigterm_stops_the_workers_and_exits_0(start_service):
    svc = start(start_service)
    assert wait_until(lambda: all_running(svc), 10), status(svc)
    pids = [w["pid"] for w in status(svc)["workers"]]
    svc.signal(signal.SIGTERM)
    assert svc.wait(15) == 0, svc.describe()
    # The front reaped them before it exited: no process, not even a zombie, is left.
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}"), pid
