"""notify() without the runtime (logging) and its argument checks; HTTPException."""

import logging

import pytest

from mvi import HTTPException, service
from mvi.communication import Severity, notify


@pytest.fixture(autouse=True)
def fresh_service():
    service._reset()
    yield
    service._reset()


def test_severity_values():
    assert (Severity.INFO, Severity.WARNING, Severity.CRITICAL) == (0, 1, 2)


@pytest.mark.parametrize(
    "severity, level",
    [(Severity.INFO, logging.INFO), (Severity.WARNING, logging.WARNING), (2, logging.CRITICAL)],
)
def test_notify_without_runtime_logs(caplog, severity, level):
    caplog.set_level(logging.DEBUG, logger="mvi.notify")
    assert notify("Someone greets the World", severity, emails="a@b.c", timer=60) is None
    (record,) = caplog.records
    assert record.name == "mvi.notify"
    assert record.levelno == level
    assert record.getMessage() == "Someone greets the World"


def test_notify_default_severity_is_info(caplog):
    caplog.set_level(logging.DEBUG, logger="mvi.notify")
    notify(msg="hi")
    assert caplog.records[0].levelno == logging.INFO


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"msg": 5}, TypeError), ({"msg": "x", "severity": 3}, ValueError), ({"msg": "x", "severity": -1}, ValueError),
        ({"msg": "x", "severity": "WARNING"}, TypeError), ({"msg": "x", "emails": [1]}, TypeError),
        ({"msg": "x", "timer": -5}, ValueError),
    ],
)
def test_notify_bad_arguments(kwargs, error):
    with pytest.raises(error, match="notify"):
        notify(**kwargs)


def test_http_exception_defaults():
    exc = HTTPException(404)
    assert (exc.status_code, exc.detail, exc.headers) == (404, "Not Found", None)
    assert str(exc) == "404: Not Found"
    assert HTTPException(418).detail == "I'm a Teapot"
    assert HTTPException(499).detail == "HTTP 499"


def test_http_exception_explicit():
    headers = {"Retry-After": "5"}
    exc = HTTPException(status_code=429, detail={"why": "slow down"}, headers=headers)
    assert exc.detail == {"why": "slow down"} and exc.headers == headers and exc.headers is not headers
    with pytest.raises(HTTPException) as info:
        raise exc
    assert info.value.status_code == 429


@pytest.mark.parametrize("code, error", [(99, ValueError), (600, ValueError), ("404", TypeError), (True, TypeError)])
def test_http_exception_bad_status(code, error):
    with pytest.raises(error):
        HTTPException(code)
