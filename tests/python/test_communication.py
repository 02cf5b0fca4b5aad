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
    "kwargs, level, warned",
    [
        ({"msg": 5}, logging.INFO, "msg 5 is not a str"),
        ({"msg": "x", "severity": 3}, logging.CRITICAL, "severity 3 is outside"),
        ({"msg": "x", "severity": -1}, logging.INFO, "severity -1 is outside"),
        ({"msg": "x", "severity": "WARNING"}, logging.WARNING, None),  # a level's name is that level
        ({"msg": "x", "severity": 2.0}, logging.CRITICAL, None),
        ({"msg": "x", "severity": object()}, logging.INFO, "is not a Severity"),
        ({"msg": "x", "emails": [1]}, logging.INFO, "emails [1] holds something"),
        ({"msg": "x", "emails": 7}, logging.INFO, "no e-mail is sent"),
        ({"msg": "x", "timer": -5}, logging.INFO, "timer -5 is not a number of seconds >= 0"),
        ({"msg": "x", "timer": float("nan")}, logging.INFO, "timer nan"),
        ({"msg": "x", "timer": "soon"}, logging.INFO, "timer 'soon' is not a number"),
    ],
)
def test_notify_never_raises_and_corrects_what_does_not_fit(kwargs, level, warned, caplog):
    caplog.set_level(logging.DEBUG, logger="mvi.notify")
    notify(**kwargs)
    raised = [r for r in caplog.records if r.getMessage() == str(kwargs["msg"])]
    assert raised and raised[-1].levelno == level, caplog.records
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("notify:")]
    if warned:
        assert any(warned in w for w in warnings), warnings
    else:
        assert not warnings


def test_notify_never_raises_when_the_backend_fails(monkeypatch, caplog):
    class Broken:
        def notify(self, *args):
            raise RuntimeError("no way")

    monkeypatch.setattr("mvi._backend.get", lambda: Broken())
    caplog.set_level(logging.DEBUG, logger="mvi.notify")
    notify("x")
    assert any("could not be raised" in r.getMessage() for r in caplog.records)


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
