"""Fixtures for the end-to-end suite: start the real mvi-runtime binary on 127.0.0.1, port 0.

Every started process is drained continuously (stdout and stderr, so pipes never fill), stopped at teardown
(SIGTERM, bounded wait, then SIGKILL of its process group), and every wait or socket operation is bounded in
time: no pytest-timeout plugin is available, so the helpers enforce the bounds themselves, and a per-test
watchdog kills the processes a test started if it runs longer than TEST_HARD_LIMIT seconds.
"""

import http.client
import json as jsonlib
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
SERVICES_DIR = E2E_DIR / "services"
EXAMPLES_DIR = REPO / "examples"
SYSTEM_PYTHON = "/usr/bin/python3"

HOST = "127.0.0.1"
LISTENING_RE = re.compile(r"listening on http://[^\s:]+:(\d+)")
STARTUP_TIMEOUT = 20.0  # seconds to wait for the "listening on" line
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
TEST_HARD_LIMIT = 60.0  # per-test watchdog
DEFAULT_HTTP_TIMEOUT = 10.0

_NO_JSON = object()


# --------------------------------------------------------------------------------------------------------------
# HTTP helper (http.client only)


class Headers:
    """Case-insensitive, read-only view of response headers (repeated fields joined with ", ")."""

    def __init__(self, pairs):
        self._items = list(pairs)
        self._map = {}
        for name, value in self._items:
            key = name.lower()
            self._map[key] = f"{self._map[key]}, {value}" if key in self._map else value

    def get(self, name, default=None):
        return self._map.get(name.lower(), default)

    def __getitem__(self, name):
        return self._map[name.lower()]

    def __contains__(self, name):
        return name.lower() in self._map

    def items(self):
        return list(self._items)

    def __repr__(self):
        return f"Headers({self._items!r})"


class HTTPResult:
    """status, headers, body; unpacks as a 3-tuple. body is the parsed JSON, or the raw bytes when not JSON."""

    def __init__(self, status, headers, raw, will_close):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.will_close = will_close
        self.body = _parse_body(raw)

    @property
    def text(self):
        return self.raw.decode("utf-8", errors="replace")

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return f"<HTTP {self.status} headers={self.headers!r} body={self.raw[:500]!r}>"


def _parse_body(raw):
    if not raw:
        return raw
    try:
        return jsonlib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return raw


def request(port, method, path, json=_NO_JSON, headers=None, body=None, timeout=DEFAULT_HTTP_TIMEOUT, conn=None):
    """One HTTP request to 127.0.0.1:port. Returns HTTPResult (unpackable as (status, headers, body)).

    json=... sends a JSON body with Content-Type application/json; body=bytes sends raw bytes.
    conn=an http.client.HTTPConnection reuses that connection (keep-alive) instead of opening a new one.
    """
    send_headers = {}
    if json is not _NO_JSON:
        body = jsonlib.dumps(json).encode("utf-8")
        send_headers["Content-Type"] = "application/json"
    if headers:
        send_headers.update(headers)
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=send_headers)
        resp = conn.getresponse()
        raw = resp.read()
        return HTTPResult(resp.status, Headers(resp.getheaders()), raw, resp.will_close)
    finally:
        if own:
            conn.close()


# --------------------------------------------------------------------------------------------------------------
# Processes


def child_env(extra=None):
    """os.environ, minus runtime configuration that would change behaviour, with REPO/python on PYTHONPATH."""
    env = dict(os.environ)
    for key in list(env):
        # MVI_LOG_LEVEL must be unset; other MVI_* / daeploy.* settings (token, port, root path, ...) would
        # silently change what the tests observe. MVI_RUNTIME_BIN is kept: `python3 service.py` needs it.
        if key == "MVI_RUNTIME_BIN":
            continue
        if key.startswith("MVI_") or key.lower().startswith("daeploy"):
            del env[key]
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "python"), os.environ.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONHOME", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left in examples/ or tests/e2e/services/
    if extra:
        for key, value in extra.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
    return env


class ServiceProcess:
    """A running service. Attributes: port, proc, stdout_lines, stderr_lines; url(path), request(...), stop()."""

    def __init__(self, argv, env, cwd):
        self.argv = [str(a) for a in argv]
        self.port = None
        self.stdout_lines = []
        self.stderr_lines = []
        self._cond = threading.Condition()
        self._returncode = None
        self.proc = subprocess.Popen(
            self.argv,
            cwd=str(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: SIGKILL fallback reaches helpers too
        )
        self._readers = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, self.stdout_lines), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, self.stderr_lines), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _drain(self, stream, sink):
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                with self._cond:
                    sink.append(line)
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self._cond.notify_all()

    # -- output -----------------------------------------------------------------------------------------------

    def output(self):
        """Everything the process wrote so far: stdout, then stderr."""
        with self._cond:
            return "\n".join(self.stdout_lines) + "\n--- stderr ---\n" + "\n".join(self.stderr_lines)

    def describe(self, limit=6000):
        text = self.output()
        if len(text) > limit:
            text = "...\n" + text[-limit:]
        return f"command: {' '.join(self.argv)}\nexit code: {self.proc.poll()}\n--- stdout ---\n{text}"

    def wait_for_output(self, pattern, timeout=5.0):
        """Wait (bounded) until regex `pattern` matches the combined output; returns the match or None."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = regex.search("\n".join(self.stdout_lines) + "\n" + "\n".join(self.stderr_lines))
                remaining = deadline - time.monotonic()
                if m or remaining <= 0:
                    return m
                self._cond.wait(min(remaining, 0.1))

    def wait_listening(self, timeout=STARTUP_TIMEOUT):
        deadline = time.monotonic() + timeout
        scanned = 0
        with self._cond:
            while True:
                for line in self.stdout_lines[scanned:]:
                    m = LISTENING_RE.search(line)
                    if m:
                        self.port = int(m.group(1))
                        return self.port
                scanned = len(self.stdout_lines)
                if self.proc.poll() is not None and not any(t.is_alive() for t in self._readers):
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.1))
        exited = self.proc.poll()
        on_stderr = any(LISTENING_RE.search(line) for line in self.stderr_lines)
        self.stop()
        reason = (
            f"exited with code {exited} before printing"
            if exited is not None
            else f"did not print within {timeout:.0f} s"
        )
        hint = " (the line was found on stderr, the contract says stdout)" if on_stderr else ""
        pytest.fail(
            f"service {reason} a 'listening on http://HOST:PORT' line on stdout{hint}\n{self.describe()}",
            pytrace=False,
        )

    # -- HTTP -------------------------------------------------------------------------------------------------

    def url(self, path="/"):
        return f"http://{HOST}:{self.port}{path}"

    def request(self, method, path, **kwargs):
        return request(self.port, method, path, **kwargs)

    def connection(self, timeout=DEFAULT_HTTP_TIMEOUT):
        return http.client.HTTPConnection(HOST, self.port, timeout=timeout)

    # -- life cycle -------------------------------------------------------------------------------------------

    def signal(self, signum):
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait(self, timeout):
        """Wait up to `timeout` s for the process to exit; return its exit code, or None if still running."""
        try:
            return self.proc.wait(timeout=max(timeout, 0.01))
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait up to `timeout` s, SIGKILL if needed. Returns the exit code (negative = signal)."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                self.kill()
                self.wait(5.0)
        else:
            # The service process itself is gone; make sure nothing it left in its group lingers.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for t in self._readers:
            t.join(timeout=2.0)
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        return self.proc.returncode


class Launcher:
    """Starts services and remembers them so they are all stopped at teardown."""

    def __init__(self, runtime_bin):
        self.runtime_bin = runtime_bin
        self.started = []

    def start(self, path, *args, env=None, python=False, wait=True, cwd=None):
        """Start SERVICE_PY `path` (absolute, or relative to the repository) on 127.0.0.1 with port 0.

        python=False: `mvi-runtime --host 127.0.0.1 --port 0 *args path`, cwd = repository root.
        python=True:  `/usr/bin/python3 service.py --host 127.0.0.1 --port 0 *args`, cwd = the service folder
                      (service.run() replaces python with the runtime, forwarding sys.argv[1:]).
        env: extra variables for the child (None values remove a variable).
        """
        path = Path(path)
        if not path.is_absolute():
            path = REPO / path
        assert path.is_file(), f"service file {path} does not exist"
        extra = {"MVI_RUNTIME_BIN": str(self.runtime_bin)}
        extra.update(env or {})
        if python:
            argv = [SYSTEM_PYTHON, path.name, "--host", HOST, "--port", "0", *args]
            workdir = cwd or path.parent
        else:
            argv = [self.runtime_bin, "--host", HOST, "--port", "0", *args, path]
            workdir = cwd or REPO
        svc = ServiceProcess(argv, child_env(extra), workdir)
        self.started.append(svc)
        _LIVE.add(svc)
        if wait:
            svc.wait_listening()
        return svc

    __call__ = start

    def stop_all(self):
        for svc in reversed(self.started):
            try:
                svc.stop()
            finally:
                _LIVE.discard(svc)
        self.started.clear()


_LIVE = set()  # every ServiceProcess not yet stopped, for the watchdog


def wait_until(predicate, timeout, interval=0.02):
    """Call `predicate` until it returns something truthy or `timeout` s have passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def run_command(argv, timeout=20.0, cwd=None, env=None):
    """Run a short-lived command with a hard time bound; returns a CommandResult (text output)."""
    argv = [str(a) for a in argv]
    started = time.monotonic()
    try:
        result = subprocess.run(
            argv,
            cwd=str(cwd or REPO),
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", "replace")
        err = (exc.stderr or b"").decode("utf-8", "replace")
        pytest.fail(
            f"command did not exit within {timeout:.0f} s (killed): {' '.join(argv)}\n"
            f"--- stdout ---\n{out[-4000:]}\n--- stderr ---\n{err[-4000:]}",
            pytrace=False,
        )
    return CommandResult(
        argv,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
        time.monotonic() - started,
    )


class CommandResult(subprocess.CompletedProcess):
    """CompletedProcess with text output, the elapsed wall time, and describe() for assertion messages."""

    def __init__(self, args, returncode, stdout, stderr, elapsed):
        super().__init__(args, returncode, stdout, stderr)
        self.elapsed = elapsed

    def describe(self):
        return (
            f"command: {' '.join(self.args)}\nexit code: {self.returncode} after {self.elapsed:.1f} s\n"
            f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}"
        )


# --------------------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def runtime_bin():
    """Path of the mvi-runtime binary, from $MVI_RUNTIME_BIN; fails the test clearly when unusable."""
    value = os.environ.get("MVI_RUNTIME_BIN")
    if not value:
        pytest.fail(
            "MVI_RUNTIME_BIN is not set: run e.g. "
            "`MVI_RUNTIME_BIN=/work/main/build/mvi-runtime /usr/bin/python3 -m pytest -q tests/e2e`",
            pytrace=False,
        )
    path = Path(value)
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    if not path.is_file():
        pytest.fail(f"MVI_RUNTIME_BIN={value!r}: no such file (build the runtime first)", pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail(f"MVI_RUNTIME_BIN={value!r} is not executable", pytrace=False)
    return str(path)


@pytest.fixture
def start_service(runtime_bin):
    """start_service(path, *args, env=None, python=False) -> ServiceProcess, stopped at test teardown."""
    launcher = Launcher(runtime_bin)
    yield launcher
    launcher.stop_all()


@pytest.fixture(scope="module")
def module_launcher(runtime_bin):
    """Same as start_service, but the processes live for the whole test module (for read-mostly services)."""
    launcher = Launcher(runtime_bin)
    yield launcher
    launcher.stop_all()


@pytest.fixture
def run_cmd():
    """run_cmd(argv, timeout=20, cwd=None, env=None) -> CompletedProcess with text stdout/stderr."""
    return run_command


@pytest.fixture(autouse=True)
def _watchdog(request):
    """Kill the services still alive if one test exceeds TEST_HARD_LIMIT seconds, so the suite cannot hang."""
    fired = []

    def fire():
        fired.append(True)
        for svc in list(_LIVE):
            svc.kill()

    timer = threading.Timer(TEST_HARD_LIMIT, fire)
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()
    if fired:
        pytest.fail(f"{request.node.nodeid} exceeded {TEST_HARD_LIMIT:.0f} s; its services were killed",
                    pytrace=False)
