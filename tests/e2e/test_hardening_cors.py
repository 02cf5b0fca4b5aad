"""CORS (SPEC §8, docs/operations.md "CORS"): off by default, so no Access-Control-* header whatever the Origin; when
on, an exact-origin allowlist from MVI_ALLOW_ORIGIN (';'-separated) answered as Daeploy's FastAPI CORSMiddleware
(allow_credentials False) answered: preflights 200 "OK" before auth, 400 "Disallowed CORS origin" for another origin,
Access-Control-Allow-Origin only for a listed origin, no Allow-Credentials unless --cors-credentials, and Vary: Origin
on every response to a request with an Origin.
"""

from pathlib import Path

import pytest

from rawhttp import exchange, post_json, request_bytes

SERVICE = Path(__file__).resolve().parent / "services" / "hardening_basic" / "service.py"
A, B, EVIL = "https://a.example", "https://b.example", "https://evil.example"
CLOSE = ("Connection", "close")


def one(svc, data):
    responses, _ = exchange(svc.port, data)
    assert len(responses) == 1, responses
    return responses[0]


def cors_headers(resp):
    return {k: v for k, v in resp.headers if k.lower().startswith("access-control-")}


def preflight(origin, method="POST", headers="content-type"):
    return request_bytes(
        "OPTIONS",
        "/echo",
        [CLOSE, ("Origin", origin), ("Access-Control-Request-Method", method), ("Access-Control-Request-Headers", headers)],
    )


@pytest.fixture(scope="module")
def cors_on(module_launcher):
    return module_launcher.start(
        SERVICE, "--drain-delay", "0", env={"MVI_ENABLE_CORS": "true", "MVI_ALLOW_ORIGIN": f"{A};{B}"}
    )


@pytest.fixture(scope="module")
def cors_off(module_launcher):
    return module_launcher.start(SERVICE, "--drain-delay", "0")


@pytest.mark.parametrize("origin", [A, EVIL, "null"])
def test_cors_is_off_by_default(cors_off, origin):
    for data in (
        post_json("/echo", {"n": 1}, [CLOSE, ("Origin", origin)]),
        request_bytes("GET", "/health/live", [CLOSE, ("Origin", origin)]),
        preflight(origin),
    ):
        resp = one(cors_off, data)
        assert not cors_headers(resp), f"CORS is off, yet: {cors_headers(resp)}"
    assert one(cors_off, preflight(origin)).status not in (200, 204)


@pytest.mark.parametrize("origin", [A, B])
def test_preflight_from_a_listed_origin(cors_on, origin):
    resp = one(cors_on, preflight(origin))
    assert resp.status == 200 and resp.body == b"OK", resp  # Starlette's answer
    assert resp.header("Access-Control-Allow-Origin") == origin, resp
    assert "POST" in resp.header("Access-Control-Allow-Methods", ""), resp
    assert "content-type" in resp.header("Access-Control-Allow-Headers", "").lower(), resp
    assert "Origin" in resp.header("Vary", ""), resp
    assert not resp.has("Access-Control-Allow-Credentials"), resp  # Daeploy's allow_credentials=False


@pytest.mark.parametrize("origin", [EVIL, "https://a.example.evil", "http://a.example", "https://A.example", "null", A + "/"])
def test_preflight_from_another_origin_is_400(cors_on, origin):
    resp = one(cors_on, preflight(origin))
    assert resp.status == 400 and resp.body == b"Disallowed CORS origin", resp
    assert not resp.has("Access-Control-Allow-Origin"), f"origin {origin!r} got {cors_headers(resp)}"
    assert "Origin" in resp.header("Vary", ""), resp


@pytest.mark.parametrize("method, headers, failure", [
    ("TRACE", "content-type", "method"), ("POST", "content-type, x-secret", "headers"),
])
def test_preflight_names_what_is_not_allowed(cors_on, method, headers, failure):
    resp = one(cors_on, preflight(A, method=method, headers=headers))
    assert resp.status == 400 and resp.body == f"Disallowed CORS {failure}".encode(), resp


@pytest.mark.parametrize("origin", [A, B])
def test_simple_request_from_a_listed_origin(cors_on, origin):
    resp = one(cors_on, post_json("/echo", {"n": 3}, [CLOSE, ("Origin", origin)]))
    assert resp.status == 200 and resp.json["n"] == 3, resp
    assert resp.header("Access-Control-Allow-Origin") == origin, resp
    assert "Origin" in resp.header("Vary", ""), resp


def test_simple_request_from_another_origin_is_served_without_cors_headers(cors_on):
    resp = one(cors_on, post_json("/echo", {"n": 3}, [CLOSE, ("Origin", EVIL)]))
    assert resp.status == 200, resp
    assert not cors_headers(resp), cors_headers(resp)
    assert "Origin" in resp.header("Vary", ""), resp


def test_error_responses_from_a_listed_origin_carry_cors_headers(cors_on):
    resp = one(cors_on, post_json("/echo", {"n": "x"}, [CLOSE, ("Origin", A)]))
    assert resp.status == 422 and resp.header("Access-Control-Allow-Origin") == A, resp


def test_preflight_is_answered_before_authentication(start_service):
    svc = start_service(
        SERVICE, "--drain-delay", "0", "--token", "cors-token",
        env={"MVI_ENABLE_CORS": "1", "MVI_ALLOW_ORIGIN": A},
    )
    resp = one(svc, preflight(A, headers="authorization, content-type"))
    assert resp.status == 200 and resp.header("Access-Control-Allow-Origin") == A, resp
    assert "authorization" in resp.header("Access-Control-Allow-Headers", "").lower(), resp
    unauth = one(svc, post_json("/echo", {"n": 1}, [CLOSE, ("Origin", A)]))
    assert unauth.status == 401, unauth
    authed = one(svc, post_json("/echo", {"n": 1}, [CLOSE, ("Origin", A), ("Authorization", "Bearer cors-token")]))
    assert authed.status == 200 and authed.header("Access-Control-Allow-Origin") == A, authed


def test_daeploy_cors_variables(start_service):
    svc = start_service(SERVICE, "--drain-delay", "0", env={"DAEPLOY_ENABLE_CORS": "true", "DAEPLOY_ALLOW_ORIGIN": B})
    resp = one(svc, preflight(B))
    assert resp.status == 200 and resp.header("Access-Control-Allow-Origin") == B, resp


def test_credentials_only_when_asked_for(start_service):
    svc = start_service(SERVICE, "--drain-delay", "0", "--cors-credentials", "true",
                        env={"MVI_ENABLE_CORS": "true", "MVI_ALLOW_ORIGIN": A})
    assert one(svc, preflight(A)).header("Access-Control-Allow-Credentials") == "true"
    simple = one(svc, post_json("/echo", {"n": 1}, [CLOSE, ("Origin", A)]))
    assert simple.header("Access-Control-Allow-Credentials") == "true", simple
