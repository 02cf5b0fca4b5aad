"""Daeploy parity (issue 15, SPEC §2, §6): services written for the original SDK get the answers they got there.
Grown one behaviour at a time; each test names the Daeploy behaviour it keeps."""

import pytest

from conftest import SERVICES_DIR


@pytest.fixture(scope="module")
def svc(module_launcher):
    return module_launcher(SERVICES_DIR / "daeploy_parity" / "service.py")


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"a": 1, "b": None}, {"a": 1, "b": 5, "c": None, "d": 7}),  # null for a default: the default
        ({"a": 1, "c": None}, {"a": 1, "b": 5, "c": None, "d": 7}),  # unannotated: null is a value
        ({"a": 1, "c": [1, "x", {"k": None}]}, {"a": 1, "b": 5, "c": [1, "x", {"k": None}], "d": 7}),
        ({"a": 1, "d": None}, {"a": 1, "b": 5, "c": None, "d": None}),  # Optional: null is None
    ],
)
def test_explicit_null_arguments_as_daeploy(svc, body, expected):
    r = svc.request("POST", "/args", json=body)
    assert r.status == 200 and r.body == expected, r


def test_null_for_a_required_argument_is_missing(svc):
    r = svc.request("POST", "/args", json={"a": None})
    assert r.status == 422, r
    (error,) = r.body["detail"]
    assert error["type"] == "missing" and error["loc"] == ["body", "a"], error


def test_notify_with_loose_arguments_does_not_fail_the_call(svc):
    r = svc.request("POST", "/loose_notify", json={"timer": -5, "severity": 9})
    assert r.status == 200 and r.body == "sent", r
    kept = [n for n in svc.request("GET", "/notifications").body if n["msg"] == "loose"]
    assert kept and kept[0]["severity_name"] == "CRITICAL" and kept[0]["timer"] == 0, kept
    assert kept[0]["emails"] == ["1", "ops@example.com"], kept
    assert svc.wait_for_output(r"WARNING.*notify: timer -5(\.0)? is not a number of seconds >= 0: 0 is used")


def test_a_parameter_with_disable_http_logs_stays_out_of_the_access_log(svc):
    for name in ("quiet", "loud"):
        assert svc.request("POST", f"/parameters/{name}", json={name: 2}).status == 200
        assert svc.request("GET", f"/parameters/{name}").status == 200
    assert svc.wait_for_output(r"mvi\.access: GET /parameters/loud 200")
    assert svc.wait_for_output(r"mvi\.access: POST /parameters/loud 200")
    assert not svc.wait_for_output(r"mvi\.access: \w+ /parameters/quiet", timeout=0.5)
