"""The two seed services (examples/seed_legacy = seed 000, examples/hello = seed 001) served by mvi-runtime."""

import uuid
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
SYSTEM_PYTHON = "/usr/bin/python3"

EXAMPLES = ["seed_legacy", "hello"]
WORLD_MSG = "Someone is trying to greet the World, too time consuming. Skipping!"


@pytest.fixture(scope="module", params=EXAMPLES)
def seed(request, module_launcher):
    """One running process per example, shared by the tests of this module (they restore what they change)."""
    return module_launcher.start(EXAMPLES_DIR / request.param / "service.py")


def set_greeting(svc, body):
    return svc.request("POST", "/parameters/greeting_phrase", json=body)


def test_hello_returns_greeting(seed):
    resp = seed.request("POST", "/hello", json={"name": "Ada"})
    assert resp.status == 200, f"POST /hello: {resp}"
    assert resp.body == "Hello Ada", f"POST /hello {{'name': 'Ada'}} returned {resp.body!r}"
    assert resp.headers.get("Content-Type", "").startswith("application/json"), f"not JSON: {resp.headers!r}"
    assert resp.headers.get("X-Request-ID"), f"no X-Request-ID on an entrypoint response: {resp.headers!r}"
    assert resp.headers.get("X-Parameters-Generation"), f"no X-Parameters-Generation on an entrypoint response: {resp.headers!r}"


def test_change_greeting_phrase(seed):
    before = seed.request("POST", "/hello", json={"name": "Ada"})
    assert before.status == 200, before
    try:
        # Seed 000 body shape: {"<name>": value}
        resp = set_greeting(seed, {"greeting_phrase": "Bonjour"})
        assert resp.status == 200, f"POST /parameters/greeting_phrase (seed shape): {resp}"
        assert resp.body == {"greeting_phrase": "Bonjour"}, f"unexpected body {resp.body!r}"
        hello = seed.request("POST", "/hello", json={"name": "Ada"})
        assert hello.status == 200 and hello.body == "Bonjour Ada", f"new parameter not used: {hello}"
        assert hello.headers.get("X-Parameters-Generation") != before.headers.get("X-Parameters-Generation"), (
            "X-Parameters-Generation did not change after a parameter change: "
            f"{before.headers.get('X-Parameters-Generation')!r}"
        )
        got = seed.request("GET", "/parameters/greeting_phrase")
        assert got.status == 200 and got.body == {"greeting_phrase": "Bonjour"}, f"GET after POST: {got}"

        # Daeploy body shape: {"value": value}
        resp = set_greeting(seed, {"value": "Hej"})
        assert resp.status == 200, f"POST /parameters/greeting_phrase (Daeploy shape): {resp}"
        assert resp.body == {"greeting_phrase": "Hej"}, f"unexpected body {resp.body!r}"
        hello = seed.request("POST", "/hello", json={"name": "Ada"})
        assert hello.status == 200 and hello.body == "Hej Ada", f"new parameter not used: {hello}"
    finally:
        restore = set_greeting(seed, {"greeting_phrase": "Hello"})
        assert restore.status == 200, f"could not restore greeting_phrase: {restore}"


def test_world_raises_warning_notification(seed):
    request_id = f"e2e-{uuid.uuid4()}"
    resp = seed.request("POST", "/hello", json={"name": "World"}, headers={"X-Request-ID": request_id})
    assert resp.status == 200 and resp.body == "Greeting failed", f"POST /hello World: {resp}"

    def world_entries():
        notes = seed.request("GET", "/notifications")
        assert notes.status == 200, f"GET /notifications: {notes}"
        assert isinstance(notes.body, list), f"GET /notifications is not a list: {notes.body!r}"
        return notes.body, [n for n in notes.body if isinstance(n, dict) and n.get("msg") == WORLD_MSG]

    notes, entries = world_entries()
    assert len(entries) == 1, f"expected exactly one notification with the seed's message, got {notes!r}"
    note = entries[0]
    for field in ("msg", "severity", "counter", "timestamp", "entrypoint", "request_id"):
        assert field in note, f"notification lacks {field!r}: {note!r}"
    assert note["severity"] == 1 and not isinstance(note["severity"], bool), f"severity is not WARNING (1): {note!r}"
    assert note["entrypoint"] == "hello", f"notification entrypoint: {note!r}"
    assert note["request_id"] == request_id, f"notification request_id is not the request's X-Request-ID: {note!r}"
    first_counter = note["counter"]
    assert isinstance(first_counter, int) and first_counter >= 1, f"bad counter: {note!r}"

    again = seed.request("POST", "/hello", json={"name": "World"})
    assert again.status == 200 and again.body == "Greeting failed", again
    notes, entries = world_entries()
    assert len(entries) == 1, f"a repeat of the same (msg, severity) must not add an entry: {notes!r}"
    assert entries[0]["counter"] == first_counter + 1, (
        f"a repeat must increment counter from {first_counter}: {entries[0]!r}"
    )


def test_get_parameters(seed):
    resp = seed.request("GET", "/parameters")
    assert resp.status == 200, f"GET /parameters: {resp}"
    assert resp.body == {"greeting_phrase": "Hello"}, f"GET /parameters: {resp.body!r}"
    one = seed.request("GET", "/parameters/greeting_phrase")
    assert one.status == 200 and one.body == {"greeting_phrase": "Hello"}, f"GET /parameters/greeting_phrase: {one}"


def test_wrong_method_is_405_with_allow(seed):
    resp = seed.request("GET", "/hello")
    assert resp.status == 405, f"GET on a POST entrypoint: {resp}"
    allow = resp.headers.get("Allow")
    assert allow is not None, f"405 without an Allow header: {resp.headers!r}"
    assert "POST" in [m.strip().upper() for m in allow.split(",")], f"Allow header {allow!r} does not list POST"


def test_unknown_path_is_404(seed):
    resp = seed.request("GET", "/nope")
    assert resp.status == 404, f"GET /nope: {resp}"
    assert resp.body == {"detail": "Not Found"}, f"GET /nope body: {resp.body!r}"


def test_missing_argument_is_422(seed):
    resp = seed.request("POST", "/hello", json={})
    assert resp.status == 422, f"POST /hello {{}}: {resp}"
    assert isinstance(resp.body, dict) and isinstance(resp.body.get("detail"), list), f"not FastAPI shape: {resp.body!r}"
    errors = [e for e in resp.body["detail"] if e.get("loc") == ["body", "name"]]
    assert errors, f"no error with loc ['body', 'name']: {resp.body!r}"
    assert errors[0].get("type") == "missing", f"error type for a missing field: {errors[0]!r}"
    assert "msg" in errors[0], f"error without msg: {errors[0]!r}"


def test_request_id_echoed_and_generated(seed):
    rid = str(uuid.uuid4())
    resp = seed.request("POST", "/hello", json={"name": "Ada"}, headers={"X-Request-ID": rid})
    assert resp.status == 200, resp
    assert resp.headers.get("X-Request-ID") == rid, f"X-Request-ID not echoed: sent {rid!r}, got {resp.headers!r}"
    probe = seed.request("GET", "/nope", headers={"X-Request-ID": rid})
    assert probe.headers.get("X-Request-ID") == rid, f"X-Request-ID not echoed on a 404: {probe.headers!r}"

    first = seed.request("GET", "/health/live").headers.get("X-Request-ID")
    second = seed.request("GET", "/health/live").headers.get("X-Request-ID")
    assert first and second, "responses without X-Request-ID when the client sent none"
    assert first != second, f"two requests got the same generated X-Request-ID {first!r}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_python_service_py_serves(example, start_service):
    svc = start_service(EXAMPLES_DIR / example / "service.py", python=True)
    resp = svc.request("POST", "/hello", json={"name": "Ada"})
    assert resp.status == 200 and resp.body == "Hello Ada", f"`python3 service.py` POST /hello: {resp}\n{svc.describe()}"
    code = svc.stop()
    assert code == 0, f"`python3 service.py` exited {code} on SIGTERM\n{svc.describe()}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_import_under_plain_python_does_not_serve(example, run_cmd):
    result = run_cmd(
        [SYSTEM_PYTHON, "-c", "import service; print(service.hello('Bob'))"],
        cwd=EXAMPLES_DIR / example,
        timeout=15,
    )
    assert result.returncode == 0, f"importing the service failed\n{result.describe()}"
    assert "Hello Bob" in result.stdout.splitlines(), f"service.hello('Bob') did not print 'Hello Bob'\n{result.describe()}"
    assert result.elapsed < 10, f"import took {result.elapsed:.1f} s (did it start a server?)"
