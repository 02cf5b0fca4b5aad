"""Core runtime behaviour (SPEC §3, §4, §9): errors, CLI, the GIL rule, routing, parameters, life cycle."""

import signal
import threading
import time
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parent / "services"


def service_path(scenario):
    return SERVICES / scenario / "service.py"


def call_in_thread(svc, method, path, **kwargs):
    """Start one request in a background thread; returns (thread, box) where box gets 'resp' or 'error'."""
    box = {}

    def run():
        started = time.monotonic()
        try:
            box["resp"] = svc.request(method, path, **kwargs)
        except Exception as exc:  # reported by the test
            box["error"] = exc
        box["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def runs(items):
    """[200, 200, 200, 503] -> '3 x 200, 503' for compact assertion messages."""
    out = []
    for item in items:
        if out and out[-1][0] == item:
            out[-1][1] += 1
        else:
            out.append([item, 1])
    return ", ".join(f"{n} x {v}" if n > 1 else f"{v}" for v, n in out) or "nothing"


# ----------------------------------------------------------------------------------------------------------------
# Shared, read-only services


@pytest.fixture(scope="module")
def boom(module_launcher):
    return module_launcher.start(service_path("boom"))


@pytest.fixture(scope="module")
def get_route(module_launcher):
    return module_launcher.start(service_path("get_route"))


@pytest.fixture(scope="module")
def created(module_launcher):
    return module_launcher.start(service_path("status_code"), "--name", "core_status")


# ----------------------------------------------------------------------------------------------------------------
# Errors


def test_uncaught_exception_is_500_then_service_continues(boom):
    rid = "e2e-boom-0001"
    resp = boom.request("POST", "/explode", json={"x": 13}, headers={"X-Request-ID": rid})
    assert resp.status == 500, f"an uncaught ValueError must give 500: {resp}"
    assert isinstance(resp.body, dict), f"500 body is not JSON: {resp.raw!r}"
    assert resp.body.get("detail") == "Internal Server Error", f"500 body: {resp.body!r}"
    assert resp.body.get("request_id") == rid, f"500 body must carry the request id {rid!r}: {resp.body!r}"
    for leak in ("Traceback", "ValueError", "unlucky number", "service.py"):
        assert leak not in resp.text, f"500 body leaks {leak!r}: {resp.text!r}"

    ok = boom.request("POST", "/explode", json={"x": 2})
    assert ok.status == 200 and ok.body == 4, f"the request after a 500 must succeed: {ok}"

    assert boom.wait_for_output(r"Traceback", timeout=5), f"no traceback in the process output\n{boom.describe()}"
    assert boom.wait_for_output(r"ValueError: unlucky number boom-7f3a", timeout=5), (
        f"the exception message is not in the process output\n{boom.describe()}"
    )
    assert boom.wait_for_output(rid, timeout=5), f"request id {rid!r} not in the process output\n{boom.describe()}"


def test_http_exception_sets_status(boom):
    resp = boom.request("POST", "/teapot", json={})
    assert resp.status == 418, f"HTTPException(418, 'teapot'): {resp}"
    assert resp.body == {"detail": "teapot"}, f"HTTPException body: {resp.body!r}"
    again = boom.request("POST", "/teapot")  # empty body = {} for a no-argument function
    assert again.status == 418 and again.body == {"detail": "teapot"}, f"POST with an empty body: {again}"


def test_import_error_exits_nonzero_with_traceback(runtime_bin, run_cmd):
    result = run_cmd([runtime_bin, "--host", "127.0.0.1", "--port", "0", service_path("import_error")], timeout=20)
    assert result.returncode != 0, f"a service failing at import must exit non-zero\n{result.describe()}"
    assert "Traceback" in result.stderr, f"no Python traceback on stderr\n{result.describe()}"
    assert "RuntimeError" in result.stderr and "import-time failure marker 51c2" in result.stderr, (
        f"the exception type and message are not on stderr\n{result.describe()}"
    )
    # the user's frames only: the loader's exec is not one of them (issue 16)
    assert "mvi/_loader.py" not in result.stderr and 'import_error/service.py", line 12' in result.stderr, (
        result.describe())


def test_a_mistake_caught_inside_mvi_shows_the_users_line(runtime_bin, run_cmd, tmp_path):
    (tmp_path / "service.py").write_text(
        "from mvi import service\n\n\n@service.entrypoint(methd='GET')\ndef hello() -> str:\n    return 'hi'\n")
    result = run_cmd([runtime_bin, "--host", "127.0.0.1", "--port", "0", tmp_path / "service.py"], timeout=20)
    assert result.returncode != 0, result.describe()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # the last frame is the user's decorator line, then the error naming the function and the typo
    error = next(i for i, line in enumerate(lines) if line.startswith("TypeError"))
    last_frame = [line for line in lines[:error] if line.strip().startswith('File "')][-1]
    assert last_frame.strip().startswith(f'File "{tmp_path / "service.py"}", line 4'), result.describe()
    assert "entrypoint 'hello': unknown option(s) methd" in lines[error], result.describe()
    assert "mvi/_service.py" not in result.stderr and "mvi/_loader.py" not in result.stderr, result.describe()


def test_check_good_service(runtime_bin, run_cmd):
    result = run_cmd([runtime_bin, "--check", service_path("boom")], timeout=20)
    assert result.returncode == 0, f"--check on a good service must exit 0\n{result.describe()}"
    for name in ("explode", "teapot"):
        assert name in result.stdout, f"--check must print the registry (missing {name!r})\n{result.describe()}"
    assert "listening on" not in result.stdout, f"--check must not serve\n{result.describe()}"


def test_check_bad_service(runtime_bin, run_cmd):
    result = run_cmd([runtime_bin, "--check", service_path("import_error")], timeout=20)
    assert result.returncode != 0, f"--check on a failing service must exit non-zero\n{result.describe()}"
    assert "Traceback" in result.stderr and "import-time failure marker 51c2" in result.stderr, (
        f"--check must print the traceback on stderr\n{result.describe()}"
    )


# ----------------------------------------------------------------------------------------------------------------
# The GIL rule: built-in routes never wait for Python


def test_builtin_routes_answer_while_python_spins(start_service):
    svc = start_service(service_path("spin"))
    thread, box = call_in_thread(svc, "POST", "/spin", json={}, timeout=20)
    time.sleep(0.3)

    best = {}
    valid = {"/health/live": 0, "/parameters": 0}
    for _attempt in range(3):
        for path in valid:
            started = time.perf_counter()
            resp = svc.request("GET", path, timeout=5)
            elapsed = time.perf_counter() - started
            assert resp.status == 200, f"GET {path} during a spinning entrypoint: {resp}"
            if path == "/parameters":
                assert resp.body == {"threshold": 0.5}, f"GET /parameters: {resp.body!r}"
            if thread.is_alive():  # only measurements taken while Python was busy count
                valid[path] += 1
                best[path] = min(best.get(path, float("inf")), elapsed)
        if all(best.get(p, 1.0) < 0.1 for p in valid):
            break

    thread.join(15)
    assert not thread.is_alive(), "the spinning request did not finish within 15 s"
    assert "error" not in box, f"the spinning request failed: {box.get('error')!r}\n{svc.describe()}"
    assert box["resp"].status == 200 and box["resp"].body == "done", f"POST /spin: {box['resp']}"
    for path, count in valid.items():
        assert count, (
            f"no GET {path} completed while /spin was running: built-in routes seem to wait for the GIL "
            f"(spin took {box['elapsed']:.2f} s)"
        )
        assert best[path] < 0.1, (
            f"GET {path} took {best[path] * 1000:.0f} ms (best of {count}) while Python was spinning; "
            "it must be answered without the GIL (< 100 ms)"
        )


# ----------------------------------------------------------------------------------------------------------------
# Entrypoint options and routing


def test_custom_status_code(created):
    resp = created.request("POST", "/create", json={"name": "widget"})
    assert resp.status == 201, f"status_code=201 entrypoint: {resp}"
    assert resp.body == {"created": "widget"}, f"body: {resp.body!r}"


def test_get_entrypoint_with_query_parameters(get_route):
    resp = get_route.request("GET", "/add?a=1&b=2")
    assert resp.status == 200, f"GET /add?a=1&b=2: {resp}"
    assert resp.body == 3, f"GET /add?a=1&b=2 returned {resp.body!r}"
    assert resp.headers.get("X-Parameters-Generation"), f"no X-Parameters-Generation: {resp.headers!r}"

    missing = get_route.request("GET", "/add?a=1")
    assert missing.status == 422, f"GET /add?a=1 (b missing): {missing}"
    locs = [e.get("loc") for e in missing.body.get("detail", [])] if isinstance(missing.body, dict) else []
    assert any(loc and loc[-1] == "b" for loc in locs), f"no error naming 'b': {missing.body!r}"

    bad = get_route.request("GET", "/add?a=1&b=x")
    assert bad.status == 422, f"GET /add?a=1&b=x: {bad}"

    wrong = get_route.request("POST", "/add", json={"a": 1, "b": 2})
    assert wrong.status == 405, f"POST on a GET entrypoint: {wrong}"
    allow = [m.strip().upper() for m in wrong.headers.get("Allow", "").split(",")]
    assert "GET" in allow, f"Allow header must list GET: {wrong.headers!r}"


def test_get_entrypoint_with_json_body(get_route):
    resp = get_route.request("GET", "/add", json={"a": 2, "b": 5})
    assert resp.status == 200 and resp.body == 7, f"GET /add with a JSON body (Daeploy style): {resp}"


def test_keep_alive_reuses_one_connection(get_route):
    conn = get_route.connection(timeout=10)
    try:
        local_addresses = set()
        for i in range(20):
            if i % 2:
                resp = get_route.request("GET", "/health/live", conn=conn)
                assert resp.status == 200, f"request {i} on the kept-alive connection: {resp}"
            else:
                resp = get_route.request("GET", f"/add?a={i}&b=1", conn=conn)
                assert resp.status == 200 and resp.body == i + 1, f"request {i} on the kept-alive connection: {resp}"
            assert not resp.will_close, f"the server closed the connection after request {i}: {resp.headers!r}"
            assert conn.sock is not None, f"connection dropped after request {i}"
            local_addresses.add(conn.sock.getsockname())
        assert len(local_addresses) == 1, f"20 requests used {len(local_addresses)} TCP connections, expected 1"
    finally:
        conn.close()


def test_root_path_prefix(start_service):
    svc = start_service(service_path("status_code"), "--root-path", "/services/x")
    prefixed = svc.request("POST", "/services/x/create", json={"name": "p"})
    assert prefixed.status == 201 and prefixed.body == {"created": "p"}, f"POST /services/x/create: {prefixed}"
    for path in ("/services/x/health/live", "/services/x/parameters", "/services/x/status"):
        resp = svc.request("GET", path)
        assert resp.status == 200, f"GET {path} with --root-path /services/x: {resp}"
    plain = svc.request("POST", "/create", json={"name": "q"})
    assert plain.status == 201 and plain.body == {"created": "q"}, f"POST /create (unprefixed) with --root-path: {plain}"


# ----------------------------------------------------------------------------------------------------------------
# Health and status


def test_health_and_status(created):
    live = created.request("GET", "/health/live")
    assert live.status == 200, f"/health/live: {live}"
    ready = created.request("GET", "/health/ready")
    assert ready.status == 200, f"/health/ready on a running service: {ready}"

    status = created.request("GET", "/status")
    assert status.status == 200 and isinstance(status.body, dict), f"/status: {status}"
    body = status.body
    assert body.get("name") == "core_status", f"/status name must come from --name: {body!r}"
    assert body.get("version") == "0.0.0", f"/status version must default to 0.0.0: {body!r}"
    assert body.get("state") == "RUNNING", f"/status state: {body!r}"
    assert "uptime" in body, f"/status has no uptime: {body!r}"
    uptime = body["uptime"]
    if isinstance(uptime, (int, float)) and not isinstance(uptime, bool):
        assert uptime >= 0, f"negative uptime: {body!r}"
    else:
        assert isinstance(uptime, str) and uptime, f"uptime is neither a number nor a string: {body!r}"


# ----------------------------------------------------------------------------------------------------------------
# Parameters


@pytest.fixture(scope="module")
def params(module_launcher):
    """Each test touches its own parameter: threshold/enabled are never changed, count, label, secret_level once."""
    return module_launcher.start(service_path("params"))


def test_parameters_listing(params):
    resp = params.request("GET", "/parameters")
    assert resp.status == 200 and isinstance(resp.body, dict), f"GET /parameters: {resp}"
    assert set(resp.body) == {"threshold", "count", "label", "enabled", "secret_level"}, f"GET /parameters: {resp.body!r}"
    assert resp.body["threshold"] == 0.5 and resp.body["enabled"] is True, f"GET /parameters: {resp.body!r}"
    one = params.request("GET", "/parameters/threshold")
    assert one.status == 200 and one.body == {"threshold": 0.5}, f"GET /parameters/threshold: {one}"


def test_unknown_parameter_is_404(params):
    for method, path, body in (
        ("GET", "/parameters/nope", None),
        ("POST", "/parameters/nope", {"value": 1}),
        ("GET", "/~parameters/nope", None),
    ):
        resp = params.request(method, path, json=body) if body is not None else params.request(method, path)
        assert resp.status == 404, f"{method} {path} for an unknown parameter: {resp}"


def test_parameter_not_exposed_is_405_and_unchanged(params):
    for path, body in (
        ("/parameters/secret_level", {"value": 8}),
        ("/parameters/secret_level", {"secret_level": 8}),
        ("/~parameters/secret_level", {"value": 8}),
    ):
        resp = params.request("POST", path, json=body)
        assert resp.status == 405, f"POST {path} on an expose=False parameter: {resp}"
    got = params.request("GET", "/parameters/secret_level")
    assert got.status == 200 and got.body == {"secret_level": 7}, f"expose=False must stay readable and unchanged: {got}"
    seen = params.request("POST", "/current", json={"name": "secret_level"})
    assert seen.status == 200 and seen.body == 7, f"Python sees a changed secret_level: {seen}"


def test_parameter_wrong_type_is_422_and_change_is_visible(params):
    before = params.request("POST", "/current", json={"name": "count"})
    assert before.status == 200 and before.body == 3, f"initial count: {before}"
    generation = before.headers.get("X-Parameters-Generation")
    assert generation, f"no X-Parameters-Generation: {before.headers!r}"

    for body in ({"value": "abc"}, {"count": [1, 2]}, {"value": {"x": 1}}):
        resp = params.request("POST", "/parameters/count", json=body)
        assert resp.status == 422, f"POST /parameters/count {body!r} (int parameter): {resp}"
        got = params.request("GET", "/parameters/count")
        assert got.body == {"count": 3}, f"value changed by a rejected POST {body!r}: {got}"

    same = params.request("POST", "/current", json={"name": "count"})
    assert same.body == 3, f"Python sees a value changed by a rejected POST: {same}"
    assert same.headers.get("X-Parameters-Generation") == generation, (
        f"rejected changes moved the generation: {generation!r} -> {same.headers.get('X-Parameters-Generation')!r}"
    )

    ok = params.request("POST", "/parameters/count", json={"value": 5})
    assert ok.status == 200 and ok.body == {"count": 5}, f"POST /parameters/count {{'value': 5}}: {ok}"
    after = params.request("POST", "/current", json={"name": "count"})
    assert after.status == 200 and after.body == 5, f"Python does not see the new value: {after}"
    assert after.headers.get("X-Parameters-Generation") != generation, (
        f"X-Parameters-Generation unchanged ({generation!r}) after a parameter change"
    )
    bare = params.request("GET", "/~parameters/count")
    assert bare.status == 200 and bare.body == 5, f"GET /~parameters/count must return the bare value: {bare}"


def test_tilde_parameters_aliases(params):
    bare = params.request("GET", "/~parameters/label")
    assert bare.status == 200 and bare.body == "alpha", f"GET /~parameters/label: {bare}"
    resp = params.request("POST", "/~parameters/label", json={"value": "beta"})
    assert resp.status == 200 and resp.body == "OK", f"POST /~parameters/label: {resp}"
    got = params.request("GET", "/parameters/label")
    assert got.status == 200 and got.body == {"label": "beta"}, f"GET /parameters/label after the alias POST: {got}"
    seen = params.request("POST", "/current", json={"name": "label"})
    assert seen.body == "beta", f"Python does not see the alias change: {seen}"
    bare = params.request("GET", "/~parameters/label")
    assert bare.body == "beta", f"GET /~parameters/label after change: {bare}"


# ----------------------------------------------------------------------------------------------------------------
# Life cycle


def test_sigterm_finishes_in_flight_request_and_exits_0(start_service):
    svc = start_service(service_path("slow"))
    thread, box = call_in_thread(svc, "POST", "/slow", json={}, timeout=15)
    time.sleep(0.3)
    assert thread.is_alive(), f"the slow request finished too early: {box!r}"

    signalled = time.monotonic()
    svc.signal(signal.SIGTERM)
    thread.join(10)
    assert not thread.is_alive(), "the in-flight request did not complete within 10 s of SIGTERM"
    assert "error" not in box, f"the in-flight request failed after SIGTERM: {box.get('error')!r}\n{svc.describe()}"
    assert box["resp"].status == 200 and box["resp"].body == "slept", f"in-flight request after SIGTERM: {box['resp']}"

    code = svc.wait(10 - (time.monotonic() - signalled))
    assert code is not None, f"the process did not exit within 10 s of SIGTERM\n{svc.describe()}"
    assert code == 0, f"exit code after SIGTERM: {code}\n{svc.describe()}"


def test_ready_turns_503_right_after_sigterm(start_service):
    svc = start_service(service_path("slow"))
    ready = svc.request("GET", "/health/ready")
    assert ready.status == 200, f"/health/ready before SIGTERM: {ready}"

    thread, box = call_in_thread(svc, "POST", "/slow", json={}, timeout=15)
    time.sleep(0.3)
    assert thread.is_alive(), f"the slow request finished too early: {box!r}"
    svc.signal(signal.SIGTERM)

    seen = []
    deadline = time.monotonic() + 1.0
    for _ in range(200):
        if time.monotonic() > deadline:
            break
        try:
            status = svc.request("GET", "/health/ready", timeout=1).status
        except OSError as exc:
            seen.append(repr(exc))
            break
        seen.append(status)
        if status == 503:
            break
        time.sleep(0.01)
    assert 503 in seen, (
        f"/health/ready never answered 503 after SIGTERM while a request was in flight; saw {runs(seen)}\n"
        f"{svc.describe()}"
    )

    thread.join(10)
    assert not thread.is_alive(), "the in-flight request did not complete within 10 s of SIGTERM"
    assert "resp" in box and box["resp"].status == 200, f"in-flight request after SIGTERM: {box!r}"
    code = svc.wait(10)
    assert code == 0, f"exit code after SIGTERM: {code}\n{svc.describe()}"


def test_each_call_is_answered_when_it_returns(start_service):
    """A fast call batched with a slow one on the same executor is answered without waiting for it."""
    svc = start_service(service_path("queue"))
    blocker, blocker_box = call_in_thread(svc, "POST", "/sleep_for", json={"seconds": 0.6}, timeout=15)
    time.sleep(0.2)  # the blocker now holds the only executor; the next two calls queue behind it
    started = time.monotonic()
    fast, fast_box = call_in_thread(svc, "POST", "/quick", json={}, timeout=15)
    time.sleep(0.05)
    slow, slow_box = call_in_thread(svc, "POST", "/sleep_for", json={"seconds": 2.0}, timeout=15)
    fast.join(10)
    fast_done = time.monotonic() - started
    for t in (blocker, slow):
        t.join(10)
    assert fast_box["resp"].status == 200 and fast_box["resp"].body == "quick", fast_box
    assert slow_box["resp"].status == 200, slow_box
    assert fast_done < 1.5, f"the quick call waited for the slow one queued after it: {fast_done:.2f} s"


def test_http_exception_204_has_no_body_and_the_service_survives(start_service):
    svc = start_service(service_path("queue"))
    for path in ("/no_content", "/accepted_quietly"):
        resp = svc.request("POST", path, json={})
        assert resp.status == 204, f"{path}: {resp}"
        assert resp.raw == b"", f"{path}: a 204 must have no body: {resp}"
        assert "Content-Length" not in resp.headers, f"{path}: RFC 9110 forbids Content-Length on 204: {resp}"
    assert svc.request("POST", "/quick", json={}).body == "quick", "the service must keep serving after a 204"


def test_graceful_timeout_abandons_stuck_calls_and_exits_0(start_service):
    svc = start_service(service_path("queue"), "--graceful-timeout", "0.5", "--drain-delay", "0")
    threads = [call_in_thread(svc, "POST", "/sleep_for", json={"seconds": 5}, timeout=15) for _ in range(3)]
    time.sleep(0.3)
    signalled = time.monotonic()
    svc.signal(signal.SIGTERM)
    code = svc.wait(4)
    elapsed = time.monotonic() - signalled
    assert code == 0, f"exit code after the graceful timeout: {code}\n{svc.describe()}"
    assert elapsed < 3.0, f"exit took {elapsed:.2f} s with --graceful-timeout 0.5: queued calls must not run"
    for t, _ in threads:
        t.join(5)
