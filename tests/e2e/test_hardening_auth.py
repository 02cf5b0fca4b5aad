"""Bearer-token authentication (SPEC §8, docs/operations.md "Authentication"): every route but /health/* needs
`Authorization: Bearer <token>` or the `mvi_token` cookie that POST /login sets; 401 with WWW-Authenticate: Bearer and
the same body for a missing and a wrong token, decided from the head before any body byte is read; the token never
appears in the output or in /logs; the OpenAPI document declares the scheme; a browser opening /docs is sent to /login.
"""

import secrets
import time
from pathlib import Path

import pytest

from rawhttp import assert_serving, exchange, get, post_json, request_bytes

SERVICE = Path(__file__).resolve().parent / "services" / "hardening_basic" / "service.py"
HIDDEN = b"GET /health/ready HTTP/1.1\r\nHost: hidden\r\n\r\n"

# Fixed for the module: the output is searched for it at the end.
TOKEN = "mvi-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def svc(module_launcher):
    service = module_launcher.start(SERVICE, "--drain-delay", "0", "--log-level", "debug", "--token", TOKEN)
    service.pid_at_start = service.proc.pid
    return service


def one(svc, data, timeout=5):
    responses, _ = exchange(svc.port, data, timeout=timeout)
    assert len(responses) == 1, f"expected one response: {responses!r}\nsent {data[:300]!r}"
    return responses[0]


def bearer(token=TOKEN):
    return ("Authorization", f"Bearer {token}")


CLOSE = ("Connection", "close")

PROTECTED = [
    ("GET", "/status", b""),
    ("GET", "/parameters", b""),
    ("GET", "/parameters/threshold", b""),
    ("POST", "/parameters/threshold", b'{"threshold": 0.7}'),
    ("GET", "/~parameters", b""),
    ("GET", "/notifications", b""),
    ("DELETE", "/notifications", b""),
    ("GET", "/logs", b""),
    ("GET", "/openapi.json", b""),
    ("GET", "/docs", b""),
    ("GET", "/", b""),
    ("POST", "/echo", b'{"n": 1}'),
    ("GET", "/hello?name=x", b""),
    ("GET", "/no_such_route", b""),
    ("PUT", "/echo", b""),
]


def build(method, path, body, headers=()):
    fields = [CLOSE, *headers]
    if body or method in ("POST", "PUT"):
        fields += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    return request_bytes(method, path, fields, body)


@pytest.mark.parametrize("method, path, body", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_every_route_but_health_needs_the_token(svc, method, path, body):
    missing = one(svc, build(method, path, body))
    wrong = one(svc, build(method, path, body, [bearer("not-the-token")]))
    for resp in (missing, wrong):
        assert resp.status == 401, f"{method} {path}: {resp!r}"
        assert resp.header("WWW-Authenticate") == "Bearer", resp
        assert resp.json == {"detail": "Not authenticated"}, resp
    assert missing.body == wrong.body, "the 401 body must not tell a missing token from a wrong one"
    right = one(svc, build(method, path, body, [bearer()]))
    assert right.status not in (401, 403), f"{method} {path} with the token: {right!r}"


@pytest.mark.parametrize("path", ["/health/live", "/health/ready"])
def test_health_needs_no_token(svc, path):
    resp = one(svc, get(path, [CLOSE, bearer("wrong")]))
    assert resp.status == 200, resp


@pytest.mark.parametrize(
    "value",
    ["Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Bearer  {TOKEN}", TOKEN, f"Bearer {TOKEN.upper()}"],
    ids=["no-token", "empty", "basic", "longer", "shorter", "two-spaces", "no-scheme", "case-changed"],
)
def test_near_misses_are_401(svc, value):
    resp = one(svc, get("/status", [CLOSE, ("Authorization", value)]))
    assert resp.status == 401, f"Authorization: {value!r} -> {resp!r}"


def test_bearer_scheme_is_case_insensitive(svc):
    resp = one(svc, get("/status", [CLOSE, ("Authorization", f"bearer {TOKEN}")]))
    assert resp.status == 200, resp


def test_401_comes_from_the_head_before_the_body(svc):
    # A wrong token with 1,000,000 body bytes announced and none sent: 401 at once, one response, connection closed.
    data = request_bytes("POST", "/echo", [bearer("wrong"), ("Content-Type", "application/json"), ("Content-Length", "1000000")])
    started = time.monotonic()
    responses, closed = exchange(svc.port, data, timeout=3)
    elapsed = time.monotonic() - started
    assert [r.status for r in responses] == [401], responses
    assert closed and elapsed < 1.0, f"closed={closed} after {elapsed:.2f} s"
    # A request smuggled in the body of a refused one is never answered.
    data = request_bytes("POST", "/echo", [("Content-Length", str(len(HIDDEN)))], HIDDEN)
    responses, closed = exchange(svc.port, data)
    assert [r.status for r in responses] == [401] and closed, responses
    assert_serving(svc, svc.pid_at_start)


def test_login_with_json_sets_an_httponly_strict_cookie(svc):
    resp = one(svc, post_json("/login", {"token": TOKEN}, [CLOSE]))
    assert resp.status == 200, resp
    cookie = resp.header("Set-Cookie")
    assert cookie, resp
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0] == f"mvi_token={TOKEN}", cookie
    assert "HttpOnly" in parts and "SameSite=Strict" in parts and "Path=/" in parts, cookie
    with_cookie = one(svc, get("/status", [CLOSE, ("Cookie", f"theme=dark; {parts[0]}")]))
    assert with_cookie.status == 200, with_cookie


def test_login_form_redirects_to_the_docs(svc):
    body = f"token={TOKEN}".encode()
    resp = one(svc, request_bytes("POST", "/login", [CLOSE, ("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", str(len(body)))], body))
    assert resp.status == 303, resp
    assert resp.header("Location", "").endswith("/docs"), resp
    assert resp.header("Set-Cookie", "").startswith(f"mvi_token={TOKEN};"), resp


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b'{"token": "wrong"}', "application/json"),
        (b'{"token": ""}', "application/json"),
        (b'{"token": 5}', "application/json"),
        (b"{}", "application/json"),
        (b"not json", "application/json"),
        (b"token=wrong", "application/x-www-form-urlencoded"),
    ],
    ids=["wrong", "empty", "number", "missing", "not-json", "form-wrong"],
)
def test_login_with_a_wrong_token_is_401_without_a_cookie(svc, body, content_type):
    resp = one(svc, request_bytes("POST", "/login", [CLOSE, ("Content-Type", content_type), ("Content-Length", str(len(body)))], body))
    assert resp.status == 401 and not resp.has("Set-Cookie"), resp
    assert resp.header("WWW-Authenticate") == "Bearer", resp


def test_a_wrong_cookie_is_401(svc):
    for cookie in ("mvi_token=wrong", f"mvi_token={TOKEN}x", f"xmvi_token={TOKEN}", f"mvi_token ={TOKEN}"):
        resp = one(svc, get("/status", [CLOSE, ("Cookie", cookie)]))
        assert resp.status == 401, f"Cookie: {cookie} -> {resp!r}"


def test_login_page_needs_no_token(svc):
    resp = one(svc, get("/login", [CLOSE]))
    assert resp.status == 200 and resp.header("Content-Type", "").startswith("text/html"), resp
    assert TOKEN.encode() not in resp.body


def test_docs_in_a_browser_redirects_to_login(svc):
    resp = one(svc, get("/docs", [CLOSE, ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")]))
    assert resp.status == 303 and resp.header("Location") == "/login", resp
    api = one(svc, get("/docs", [CLOSE, ("Accept", "application/json")]))
    assert api.status == 401, api


def test_openapi_declares_bearer_auth(svc):
    resp = one(svc, get("/openapi.json", [CLOSE, bearer()]))
    assert resp.status == 200, resp
    doc = resp.json
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}, doc["components"]
    assert {"bearerAuth": []} in doc.get("security", []), doc.get("security")


def test_the_token_never_appears_in_the_output_or_the_logs(svc):
    # Make sure every place a token passes through has been exercised in this process.
    one(svc, get("/status", [CLOSE, bearer()]))
    one(svc, get("/status", [CLOSE, bearer(TOKEN + "-wrong")]))
    one(svc, post_json("/login", {"token": TOKEN}, [CLOSE]))
    one(svc, post_json("/login", {"token": TOKEN[:-2]}, [CLOSE]))
    one(svc, get("/status", [CLOSE, ("Cookie", f"mvi_token={TOKEN}")]))
    one(svc, request_bytes("POST", "/echo", [bearer(TOKEN[::-1]), ("Content-Length", "10")]))
    svc.wait_for_output(r"POST /login", timeout=3)
    texts = {"process output": svc.output()}
    for query in ("tail=100000", "tail=100000&format=json", "tail=100000&level=debug"):
        resp = one(svc, get(f"/logs?{query}", [CLOSE, bearer()]))
        assert resp.status == 200, resp
        texts[f"/logs?{query}"] = resp.body.decode("utf-8", "replace")
    assert "POST /login" in texts["process output"], "the access log did not record the logins"
    for where, text in texts.items():
        for needle in (TOKEN, TOKEN[:-2], TOKEN[::-1], TOKEN[4:]):
            assert needle not in text, f"the token (or part of it) appears in {where}"


# ----------------------------------------------------------------------------------------------------------------
# Where the token comes from


def token_sources():
    return ["--token-file", "MVI_AUTH_TOKEN", "daeploy.auth", "MVI_AUTH_TOKEN_FILE"]


@pytest.mark.parametrize("source", token_sources())
def test_token_sources(start_service, tmp_path, source):
    token = "src-" + secrets.token_hex(8)
    args, env = [], {}
    if source in ("--token-file", "MVI_AUTH_TOKEN_FILE"):
        path = tmp_path / "token"
        path.write_text(token + "\n")  # a mounted secret's trailing newline is not part of the token
        if source == "--token-file":
            args = ["--token-file", str(path)]
        else:
            env = {"MVI_AUTH_TOKEN_FILE": str(path)}
    else:
        env = {source: token}
    svc = start_service(SERVICE, "--drain-delay", "0", *args, env=env)
    assert one(svc, get("/status", [CLOSE])).status == 401
    assert one(svc, get("/status", [CLOSE, bearer(token)])).status == 200
    assert one(svc, get("/health/live", [CLOSE])).status == 200
    assert token not in svc.output(), f"{source}: the token appears in the output"


def test_command_line_token_wins_over_the_environment(start_service):
    svc = start_service(SERVICE, "--drain-delay", "0", "--token", "from-cli", env={"MVI_AUTH_TOKEN": "from-env"})
    assert one(svc, get("/status", [CLOSE, bearer("from-cli")])).status == 200
    assert one(svc, get("/status", [CLOSE, bearer("from-env")])).status == 401


def test_command_line_token_wins_over_a_token_file_in_the_environment(start_service, tmp_path):
    # docs/configuration.md: the command line wins over the environment.
    path = tmp_path / "token"
    path.write_text("from-env-file\n")
    svc = start_service(SERVICE, "--drain-delay", "0", "--token", "from-cli", env={"MVI_AUTH_TOKEN_FILE": str(path)})
    assert one(svc, get("/status", [CLOSE, bearer("from-cli")])).status == 200, (
        "--token from-cli was overridden by MVI_AUTH_TOKEN_FILE from the environment"
    )
    assert one(svc, get("/status", [CLOSE, bearer("from-env-file")])).status == 401


def test_unreadable_token_file_is_a_usage_error(runtime_bin, run_cmd, tmp_path):
    result = run_cmd([runtime_bin, "--token-file", tmp_path / "missing", SERVICE], timeout=20)
    assert result.returncode == 2, result.describe()
    assert "token file" in result.stderr, result.describe()


def test_without_a_token_nothing_is_protected(start_service):
    svc = start_service(SERVICE, "--drain-delay", "0")
    assert one(svc, get("/status", [CLOSE])).status == 200
    doc = one(svc, get("/openapi.json", [CLOSE])).json
    assert "securitySchemes" not in doc.get("components", {}), doc.get("components")
