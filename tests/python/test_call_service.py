"""call_service (SPEC §2.2, issue 15): Daeploy's signature, URL resolution, what travels with the call, bounded
retries on connection errors only, and a typed exception; against a real HTTP server on a loopback port."""

import http.server
import json
import re
import socket
import threading

import pytest

from mvi import communication, utilities
from mvi import _calls
from mvi.communication import ServiceCallError, call_service


class _Recorder(http.server.BaseHTTPRequestHandler):
    answers = {}  # path -> (status, body)
    seen = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append((self.command, self.path, dict(self.headers), body))
        status, payload = type(self).answers.get(self.path, (404, {"detail": "Not Found"}))
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    _Recorder.answers, _Recorder.seen = {}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("MVI_SERVICE_DOWNSTREAM_URL", f"http://127.0.0.1:{httpd.server_address[1]}")
    yield _Recorder
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_the_url_comes_from_the_environment_then_a_manager_then_kubernetes(monkeypatch):
    for name in ("MVI_SERVICE_DIE_ROLLER_URL", "MVI_MANAGER_URL", "DAEPLOY_MANAGER_URL"):
        monkeypatch.delenv(name, raising=False)
    assert _calls.service_url("die_roller", "roll_die") == "http://die-roller:8000/roll_die"
    assert _calls.service_url("Die.Roller", "roll_die", "1.0.0") == "http://die-roller-1-0-0:8000/roll_die"
    monkeypatch.setenv("DAEPLOY_MANAGER_URL", "http://manager/")
    assert _calls.service_url("die_roller", "roll_die", "0.0.4") == "http://manager/services/die_roller_0.0.4/roll_die"
    monkeypatch.setenv("MVI_SERVICE_DIE_ROLLER_URL", "http://dice:9000/")
    assert _calls.service_url("die_roller", "roll_die", "0.0.4") == "http://dice:9000/roll_die"


def test_the_arguments_go_as_json_and_the_answer_comes_back_decoded(server):
    server.answers["/hello"] = (200, "Hello Ragnar")
    assert call_service("downstream", "hello", {"name": "Ragnar"}) == "Hello Ragnar"
    method, path, headers, body = server.seen[-1]
    assert (method, path, json.loads(body)) == ("POST", "/hello", {"name": "Ragnar"})
    assert headers["Content-Type"] == "application/json"
    # outside a call there is no request id to pass on, but a trace and the caller's name still travel
    assert "X-Request-ID" not in headers
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", headers["traceparent"]), headers
    assert headers["X-MVI-Caller"] == f"{utilities.get_service_name()}/{utilities.get_service_version()}"


def test_a_get_entrypoint_and_no_arguments(server):
    server.answers["/get_method"] = (200, "Get - Got - Gotten")
    assert call_service("downstream", "get_method", entrypoint_method="get") == "Get - Got - Gotten"
    method, _, _, body = server.seen[-1]
    assert method == "GET" and json.loads(body) == {}  # Daeploy sent {} as the body of every call


def test_an_error_status_raises_a_typed_exception_with_the_detail(server):
    server.answers["/hello"] = (422, {"detail": [{"type": "missing", "loc": ["body", "name"]}]})
    with pytest.raises(ServiceCallError) as raised:
        call_service("downstream", "hello", {"age": 3})
    assert raised.value.status_code == 422 and raised.value.detail[0]["type"] == "missing"
    with pytest.raises(ServiceCallError) as raised:
        call_service("downstream", "hello_TYPO", {"name": "x"})
    assert raised.value.status_code == 404 and raised.value.detail == "Not Found"
    assert len(server.seen) == 2  # an answered call is never repeated


def test_a_method_that_is_not_http_is_a_value_error():
    with pytest.raises(ValueError, match="Invalid HTTP method"):
        call_service("downstream", "hello", entrypoint_method="NOT A HTTP METHOD")


def test_connection_errors_are_retried_a_bounded_number_of_times(monkeypatch, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MVI_SERVICE_GONE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setattr(_calls, "RETRY_DELAY", 0.01)
    with caplog.at_level("WARNING", logger="mvi.communication"):
        with pytest.raises(ServiceCallError) as raised:
            call_service("gone", "hello")
    assert raised.value.status_code is None
    assert f"after {_calls.CONNECT_ATTEMPTS} attempts" in str(raised.value)
    assert sum("cannot connect" in r.getMessage() for r in caplog.records) == _calls.CONNECT_ATTEMPTS - 1


def test_arguments_are_logged_only_at_debug(server, caplog):
    server.answers["/hello"] = (200, "hi")
    with caplog.at_level("INFO", logger="mvi.communication"):
        call_service("downstream", "hello", {"secret": "s3"})
    assert "Calling entrypoint: hello in service: downstream" in caplog.text and "s3" not in caplog.text
    with caplog.at_level("DEBUG", logger="mvi.communication"):
        call_service("downstream", "hello", {"secret": "s3"})
    assert "s3" in caplog.text


def test_daeploy_module_names_exist():
    from mvi import data_types, testing, types
    from unittest import mock
    assert data_types.ArrayInput is types.ArrayInput and data_types.DataFrameOutput is types.DataFrameOutput
    assert testing.patch is mock.patch
    assert communication.call_service is call_service
    assert utilities.get_service_root_path() == ""
