"""With a fake `_mvi_native` module the package forwards to the runtime with the documented arguments."""

import sys
import types

import pytest

from mvi import _backend, service
from mvi.communication import Severity, notify


@pytest.fixture
def native(monkeypatch):
    calls = []
    params = {}
    module = types.ModuleType("_mvi_native")

    def add_parameter(name, value, type_desc, expose, monitor, description, disable_http_logs):
        calls.append(("add_parameter", name, value, type_desc, expose, monitor, description, disable_http_logs))
        params[name] = value

    def get_parameter(name):
        calls.append(("get_parameter", name))
        return params[name]

    def set_parameter(name, value):
        calls.append(("set_parameter", name, value))
        if name not in params:
            raise KeyError(name)
        params[name] = value

    def get_parameters():
        calls.append(("get_parameters",))
        return dict(params)

    def notify(msg, severity, dashboard, emails, timer):
        calls.append(("notify", msg, severity, dashboard, emails, timer))

    def store(variables):
        calls.append(("store", variables))

    for func in (add_parameter, get_parameter, set_parameter, get_parameters, notify, store):
        setattr(module, func.__name__, func)
    module.calls = calls
    service._reset()
    monkeypatch.setitem(sys.modules, "_mvi_native", module)
    yield module
    service._reset()


@pytest.fixture(autouse=True)
def fresh_service():
    service._reset()
    yield
    service._reset()


def test_backend_choice_is_lazy_and_resettable(native):
    assert _backend.under_runtime()
    assert _backend.get() is _backend.get()
    del sys.modules["_mvi_native"]
    assert _backend.under_runtime()  # decided once
    _backend._reset()
    assert not _backend.under_runtime()


def test_parameters_go_to_native(native):
    service.add_parameter("greeting_phrase", "Hello", expose=False, monitor=True, description="how to greet")
    service.add_parameter("ratio", 1, type=float)
    service.add_parameter("anything", None, disable_http_logs=True)
    assert service.get_parameter("greeting_phrase") == "Hello"
    service.set_parameter("greeting_phrase", "Bonjour")
    assert service.get_parameters() == {"greeting_phrase": "Bonjour", "ratio": 1.0, "anything": None}
    with pytest.raises(KeyError):
        service.set_parameter("nope", 1)
    assert native.calls[:5] == [
        ("add_parameter", "greeting_phrase", "Hello", {"kind": "str"}, False, True, "how to greet", False),
        ("add_parameter", "ratio", 1.0, {"kind": "float"}, True, False, None, False),
        ("add_parameter", "anything", None, {"kind": "any"}, True, False, None, True),
        ("get_parameter", "greeting_phrase"),
        ("set_parameter", "greeting_phrase", "Bonjour"),
    ]


def test_duplicate_parameter_is_caught_before_native(native):
    service.add_parameter("x", 1)
    with pytest.raises(ValueError, match="parameter 'x' is already defined"):
        service.add_parameter("x", 2)
    assert [c[0] for c in native.calls] == ["add_parameter"]


def test_notify_goes_to_native(native):
    notify("careful", Severity.WARNING, dashboard=False, emails="ops@example.com", timer=30)
    notify("fine")
    assert native.calls == [
        ("notify", "careful", 1, False, ["ops@example.com"], 30),
        ("notify", "fine", 0, True, None, 0),
    ]
    assert type(native.calls[0][2]) is int


def test_notify_never_raises_on_delivery_failure(native, caplog):
    def broken(*args):
        raise RuntimeError("queue full")

    native.notify = broken
    assert notify("lost", Severity.CRITICAL) is None
    assert "could not be delivered: lost" in caplog.text


def test_store_goes_to_native(native):
    service.store(temperature=20.5)
    assert native.calls == [("store", {"temperature": 20.5})]


def test_store_without_native_store_records_locally(native):
    del native.store
    service.store(a=1)
    assert _backend.get().stored()[0][1] == {"a": 1}


def test_run_under_runtime_returns_even_from_main(native, monkeypatch):
    monkeypatch.setattr("os.execv", lambda *a: pytest.fail("must not exec under the runtime"))
    assert eval("service.run()", {"__name__": "__main__", "__file__": "x.py", "service": service}) is None
