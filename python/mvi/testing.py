"""Helpers for a service's own tests.

`TestClient("service.py")` runs the real mvi-runtime on a free loopback port (so tests see exactly what production
does: the C++ validation and its 422s, status codes, headers, parameters, notifications, logs) and offers FastAPI's
client shape: `client.post("/hello", json={...})` returning a response with `.status_code`, `.json()`, `.headers`.
`client_fixture("service.py")` makes a pytest fixture that starts one runtime per test module. `patch` is
`unittest.mock.patch`, re-exported as Daeploy's testing module did.

Thread-safety: a TestClient may be used from several threads; requests are serialised on its one keep-alive
connection. start/close are not meant to race with requests."""

import http.client
import inspect
import json as jsonlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from typing import Any
from unittest.mock import patch

from ._runtime_binary import find_runtime

__all__ = ["patch", "TestClient", "Response", "client_fixture"]

_LISTENING = re.compile(r"listening on http://[^\s:]+:(\d+)")


class Response:
    """One answer: `status_code`, `headers` (case-insensitive), `content` (bytes), `text`, `json()`."""

    def __init__(self, status_code: int, reason: str, headers: list[tuple[str, str]], content: bytes):
        self.status_code = status_code
        self.reason_phrase = reason
        self.headers = _Headers(headers)
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise AssertionError(f"HTTP {self.status_code} {self.reason_phrase}: {self.text[:2000]}")

    def __repr__(self):
        return f"<Response [{self.status_code}]>"


class _Headers:
    """Response headers: case-insensitive `[]`, `get`, `in`; `items()` in the order received."""

    def __init__(self, pairs):
        self._pairs = list(pairs)

    def get(self, name, default=None):
        lower = name.lower()
        return next((v for k, v in self._pairs if k.lower() == lower), default)

    def __getitem__(self, name):
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name):
        return self.get(name) is not None

    def items(self):
        return list(self._pairs)

    def __repr__(self):
        return f"Headers({self._pairs!r})"


class TestClient:
    """The real runtime serving `service_path` on 127.0.0.1 (a free port), for tests.

    with TestClient("service.py") as client:
        assert client.post("/hello", json={"name": "Ada"}).json() == "Hello Ada"

    `args` are extra mvi-runtime options ("--workers", "2"); `env` extra environment variables (None removes one).
    Start-up waits at most `startup_timeout` seconds; a service that does not import raises RuntimeError with the
    runtime's output, traceback included. `output` holds what the runtime logged so far."""

    __test__ = False  # not a test class for pytest, despite its name

    def __init__(self, service_path, *args: str, env: dict[str, str | None] | None = None,
                 startup_timeout: float = 30.0, timeout: float = 30.0):
        self.service_path = os.path.abspath(os.fspath(service_path))
        if os.path.isdir(self.service_path):
            self.service_path = os.path.join(self.service_path, "service.py")
        self.args = [str(a) for a in args]
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.timeout = timeout
        self.port = None
        self._process = None
        self._lines = []
        self._lines_changed = threading.Condition()
        self._reader = None
        self._connection = None
        self._lock = threading.Lock()

    # ---- life cycle ----

    def __enter__(self) -> "TestClient":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        if self._process is not None:
            return
        if not os.path.isfile(self.service_path):
            raise FileNotFoundError(f"TestClient: service file not found: {self.service_path}")
        binary = find_runtime("TestClient")
        env = dict(os.environ)
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        argv = [binary, "--host", "127.0.0.1", "--port", "0", "--drain-delay", "0", *self.args, self.service_path]
        self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, cwd=os.path.dirname(self.service_path), env=env)
        self._reader = threading.Thread(target=self._read_output, name="mvi-testclient-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.startup_timeout
        with self._lines_changed:
            while True:
                match = next((m for m in map(_LISTENING.search, self._lines) if m), None)
                if match:
                    self.port = int(match.group(1))
                    return
                if self._process.poll() is not None and not self._reader.is_alive():
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lines_changed.wait(min(remaining, 0.1))
        output = self.output
        exited = self._process.poll()
        self.close()
        why = f"exited with status {exited}" if exited is not None else f"was not ready in {self.startup_timeout} s"
        raise RuntimeError(f"TestClient: mvi-runtime {why} serving {self.service_path}:\n{output}")

    def close(self) -> None:
        """Stops the runtime (SIGTERM, then SIGKILL after 10 s) and closes the connection."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=5)

    def _read_output(self):
        for raw in self._process.stdout:
            with self._lines_changed:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._lines_changed.notify_all()
        with self._lines_changed:
            self._lines_changed.notify_all()

    @property
    def output(self) -> str:
        """Everything the runtime logged so far (its stdout and stderr)."""
        with self._lines_changed:
            return "\n".join(self._lines)

    def wait_for_output(self, pattern: str, timeout: float = 5.0):
        """The first match of regex `pattern` in the runtime's output, waiting at most `timeout` s; None if none."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._lines_changed:
            while True:
                match = regex.search("\n".join(self._lines))
                remaining = deadline - time.monotonic()
                if match or remaining <= 0:
                    return match
                self._lines_changed.wait(min(remaining, 0.1))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- requests ----

    def request(self, method: str, url: str, *, json: Any = None, content: bytes | str | None = None,
                data: Any = None, params: dict | None = None, headers: dict[str, str] | None = None,
                timeout: float | None = None) -> Response:
        """One request. `json` sends JSON; `content` raw bytes; `data` a str/bytes body (or a dict, form-encoded);
        `params` the query string."""
        if self.port is None:
            self.start()
        body = None
        sent_headers = {}
        if json is not None:
            body = jsonlib.dumps(json).encode()
            sent_headers["Content-Type"] = "application/json"
        elif content is not None:
            body = content.encode() if isinstance(content, str) else bytes(content)
        elif data is not None:
            if isinstance(data, dict):
                body = urllib.parse.urlencode(data).encode()
                sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                body = data.encode() if isinstance(data, str) else bytes(data)
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params, doseq=True)
        sent_headers.update(headers or {})
        with self._lock:
            for attempt in (1, 2):
                if self._connection is None:
                    self._connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                  timeout=timeout or self.timeout)
                try:
                    self._connection.request(method.upper(), url, body=body, headers=sent_headers)
                    answer = self._connection.getresponse()
                    content_bytes = answer.read()
                except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
                    # the server closed an idle keep-alive connection: once more on a new one
                    self._connection.close()
                    self._connection = None
                    if attempt == 2:
                        raise
                    continue
                if answer.will_close:
                    self._connection.close()
                    self._connection = None
                return Response(answer.status, answer.reason, answer.getheaders(), content_bytes)
        raise AssertionError("unreachable")

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def put(self, url, **kwargs):
        return self.request("PUT", url, **kwargs)

    def patch(self, url, **kwargs):
        return self.request("PATCH", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def head(self, url, **kwargs):
        return self.request("HEAD", url, **kwargs)

    def options(self, url, **kwargs):
        return self.request("OPTIONS", url, **kwargs)


def client_fixture(service_path, *args: str, scope: str = "module", **kwargs):
    """A pytest fixture that runs the service once per module (`scope`) and yields its TestClient:

        client = client_fixture("../service.py")      # in tests/test_service.py; relative to this file

        def test_hello(client):
            assert client.post("/hello", json={"name": "Ada"}).status_code == 200
    """
    import pytest

    caller = inspect.stack()[1].filename
    path = service_path if os.path.isabs(os.fspath(service_path)) else \
        os.path.join(os.path.dirname(os.path.abspath(caller)), os.fspath(service_path))

    @pytest.fixture(scope=scope)
    def client():
        with TestClient(path, *args, **kwargs) as running:
            yield running

    return client
