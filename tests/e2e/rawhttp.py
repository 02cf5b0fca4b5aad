"""Raw HTTP/1.1 over a plain socket for the hardening suites: send exact bytes, read back exactly the responses.

http.client normalises what it sends (and refuses to send much of what these tests need), so the hardening tests
talk to the runtime through this module instead. Every read has a deadline; nothing here blocks forever.

    conn = RawConnection(port)
    conn.send(b"GET /health/live HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    resp = conn.read_response(timeout=5)          # one response, framed by Content-Length / chunked / close
    rest = conn.read_until_closed(timeout=3)      # every further response until the peer closes (or the deadline)

    responses, closed = exchange(port, raw_bytes)  # send, then read every response until the server closes

A response is parsed strictly: status line, header fields, then a body framed the way RFC 9112 §6.3 says (no body
for HEAD, 1xx, 204 and 304; Content-Length; chunked; else until close). Bytes the parser cannot frame raise
ProtocolError with the raw bytes in the message, so a malformed answer fails the test loudly.
"""

import json
import socket
import time

HOST = "127.0.0.1"


class ProtocolError(AssertionError):
    """The server's bytes are not a well-formed HTTP/1.1 response."""


class Timeout(AssertionError):
    """No complete response arrived before the deadline."""


class RawResponse:
    """status, reason, version, headers (list of (name, value)), body (bytes, de-chunked), raw (the exact bytes)."""

    def __init__(self, version, status, reason, headers, body, raw):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw = raw

    def header(self, name, default=None):
        """The first field named `name` (case-insensitive), or default."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def has(self, name):
        return any(k.lower() == name.lower() for k, _ in self.headers)

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def closes(self):
        """Whether the response announces that the connection closes after it."""
        tokens = [t.strip().lower() for v in self.header_all("Connection") for t in v.split(",")]
        if "close" in tokens:
            return True
        return self.version == "HTTP/1.0" and "keep-alive" not in tokens

    def __repr__(self):
        return f"<RawResponse {self.status} {self.headers!r} body={self.body[:300]!r}>"


def _parse_head(data):
    """(version, status, reason, headers, head_length) or None when the head is incomplete."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > 65536:
            raise ProtocolError(f"no end of response head within 64 KiB: {data[:300]!r}")
        return None
    lines = data[:end].split(b"\r\n")
    status_line = lines[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise ProtocolError(f"bad status line {status_line!r} in {data[:300]!r}")
    headers = []
    for line in lines[1:]:
        text = line.decode("latin-1")
        if ":" not in text or text[0] in " \t":
            raise ProtocolError(f"bad response header line {text!r} in {data[:500]!r}")
        name, value = text.split(":", 1)
        headers.append((name, value.strip(" \t")))
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers, end + 4


def _parse_chunked(data, start):
    """(body, end) of a complete chunked body starting at data[start:], or None when incomplete."""
    pos = start
    body = b""
    while True:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size_text = data[pos:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_text!r} in {data[:500]!r}") from None
        pos = line_end + 2
        if size == 0:
            # trailer section: fields until an empty line
            while True:
                line_end = data.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                if line_end == pos:
                    return body, line_end + 2
                pos = line_end + 2
        if len(data) < pos + size + 2:
            return None
        body += data[pos : pos + size]
        if data[pos + size : pos + size + 2] != b"\r\n":
            raise ProtocolError(f"chunk not followed by CRLF in {data[:500]!r}")
        pos += size + 2


def parse_one(data, closed, head_request=False):
    """Parse one response from the front of `data`. Returns (RawResponse, rest) or None when incomplete.

    closed: the peer has closed, so a body without framing ends at the end of `data`.
    head_request: the response answers HEAD (a Content-Length but no body).
    """
    head = _parse_head(data)
    if head is None:
        return None
    version, status, reason, headers, n = head
    lower = {}
    for k, v in headers:
        lower.setdefault(k.lower(), []).append(v)
    if head_request or 100 <= status < 200 or status in (204, 304):
        return RawResponse(version, status, reason, headers, b"", data[:n]), data[n:]
    te = lower.get("transfer-encoding")
    if te:
        if te[-1].split(",")[-1].strip().lower() != "chunked":
            raise ProtocolError(f"response Transfer-Encoding {te!r} is not chunked: {data[:300]!r}")
        parsed = _parse_chunked(data, n)
        if parsed is None:
            return None
        body, end = parsed
        return RawResponse(version, status, reason, headers, body, data[:end]), data[end:]
    cl = lower.get("content-length")
    if cl:
        if len(set(cl)) != 1 or not cl[0].isdigit():
            raise ProtocolError(f"bad response Content-Length {cl!r}: {data[:300]!r}")
        length = int(cl[0])
        if len(data) < n + length:
            return None
        return RawResponse(version, status, reason, headers, data[n : n + length], data[: n + length]), data[n + length :]
    if not closed:
        return None
    return RawResponse(version, status, reason, headers, data[n:], data), b""


class RawConnection:
    """A client socket to 127.0.0.1:port with bounded reads. Use as a context manager or call close()."""

    def __init__(self, port, timeout=5.0, host=HOST):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.closed_by_peer = False
        self.reset_by_peer = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        """Send exactly `data`. Returns False (instead of raising) when the peer has already closed or reset."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _recv(self, deadline):
        """Read what is there (up to the deadline). False when nothing more can come (EOF, reset) or time is up."""
        if self.closed_by_peer:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(min(remaining, 0.5))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        except ConnectionResetError:
            self.closed_by_peer = True
            self.reset_by_peer = True
            return False
        if not chunk:
            self.closed_by_peer = True
            return False
        self.buffer += chunk
        return True

    def read_response(self, timeout=5.0, head_request=False, skip_interim=True):
        """The next complete response. 1xx interim responses are skipped unless skip_interim=False."""
        deadline = time.monotonic() + timeout
        while True:
            parsed = parse_one(self.buffer, self.closed_by_peer, head_request) if self.buffer else None
            if parsed is not None:
                resp, self.buffer = parsed
                if skip_interim and 100 <= resp.status < 200:
                    continue
                return resp
            if not self._recv(deadline):
                if self.closed_by_peer:
                    parsed = parse_one(self.buffer, True, head_request) if self.buffer else None
                    if parsed is not None:
                        resp, self.buffer = parsed
                        return resp
                    raise ProtocolError(
                        f"connection {'reset' if self.reset_by_peer else 'closed'} before a complete response; "
                        f"received {self.buffer[:500]!r}"
                    )
                if time.monotonic() >= deadline:
                    raise Timeout(f"no complete response within {timeout:.1f} s; received {self.buffer[:500]!r}")

    def read_until_closed(self, timeout=3.0):
        """Every response until the peer closes the connection. Raises Timeout if it stays open past `timeout`
        (the responses parsed so far are then in self.responses)."""
        deadline = time.monotonic() + timeout
        self.responses = []
        while True:
            parsed = parse_one(self.buffer, self.closed_by_peer) if self.buffer else None
            if parsed is not None:
                resp, self.buffer = parsed
                self.responses.append(resp)
                continue
            if self.closed_by_peer:
                if self.buffer:
                    raise ProtocolError(f"trailing bytes that are no response: {self.buffer[:500]!r}")
                return self.responses
            if not self._recv(deadline) and not self.closed_by_peer:
                raise Timeout(
                    f"the connection was still open {timeout:.1f} s later; responses so far: {self.responses!r}, "
                    f"unparsed bytes: {self.buffer[:300]!r}"
                )

    def wait_closed(self, timeout):
        """True when the peer closes (EOF or reset) within `timeout` s; any bytes received stay in the buffer."""
        deadline = time.monotonic() + timeout
        while not self.closed_by_peer:
            if not self._recv(deadline) and not self.closed_by_peer:
                return False
        return True

    def quiet_for(self, seconds):
        """True when nothing arrives and the connection stays open for `seconds`."""
        deadline = time.monotonic() + seconds
        before = len(self.buffer)
        while time.monotonic() < deadline:
            if not self._recv(deadline):
                break
        return len(self.buffer) == before and not self.closed_by_peer


def exchange(port, data, timeout=5.0):
    """Send `data` on a new connection, read every response until the server closes. Returns (responses, closed):
    closed is False when the connection was still open after `timeout` s (responses then holds what came)."""
    with RawConnection(port, timeout=timeout) as conn:
        conn.send(data)
        try:
            return conn.read_until_closed(timeout), True
        except Timeout:
            return conn.responses, False


def request_bytes(method, target, headers=(), body=b"", version="HTTP/1.1", host="127.0.0.1"):
    """Build exact request bytes. headers: (name, value) pairs in order; host=None leaves Host out."""
    lines = [f"{method} {target} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines.extend(f"{k}: {v}" for k, v in headers)
    if isinstance(body, str):
        body = body.encode("utf-8")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def get(path, headers=(), version="HTTP/1.1"):
    return request_bytes("GET", path, headers, version=version)


def post_json(path, obj, headers=(), version="HTTP/1.1"):
    body = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    return request_bytes(
        "POST",
        path,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
        body,
        version=version,
    )


def assert_serving(svc, pid):
    """The service process is the same one (pid unchanged, not exited) and GET /health/live answers 200."""
    assert svc.proc.poll() is None, f"the service exited (code {svc.proc.returncode})\n{svc.describe()}"
    assert svc.proc.pid == pid, f"the process id changed: {pid} -> {svc.proc.pid}"
    responses, _ = exchange(svc.port, get("/health/live", [("Connection", "close")]), timeout=5)
    assert [r.status for r in responses] == [200], f"/health/live after the test: {responses!r}\n{svc.describe()}"
    assert responses[0].json == {"status": "alive"}, responses[0]


def leaks(resp):
    """What a response must never carry: a Server header (versions), a traceback or a Python file name."""
    found = []
    if resp.has("Server"):
        found.append(f"Server: {resp.header('Server')}")
    for marker in (b"Traceback", b'File "', b".py\"", b"boost", b"beast"):
        if marker in resp.raw:
            found.append(marker.decode())
    return found
