"""A bounded reader for streamed responses (GET /logs?follow=true, GET /notifications/stream) over a raw socket.

Every read has a deadline; nothing here can block forever. The chunked body is decoded incrementally, so a test
sees each line as soon as the runtime writes it.
"""

import json
import socket
import time

HOST = "127.0.0.1"


class StreamClient:
    """GET `path` on 127.0.0.1:port and keep the connection open. Attributes: status, headers, text, ended."""

    def __init__(self, port, path, headers=None, timeout=5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{extra}\r\n".encode())
        self._raw = b""  # bytes received and not yet decoded
        self._body = b""
        self.ended = False  # the terminating chunk arrived, or the peer closed the connection
        self.closed_by_peer = False
        self.status = None
        self.headers = {}
        self._read_head(timeout)

    # -- low level ------------------------------------------------------------------------------------------

    def _recv(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(min(remaining, 0.5))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        except OSError:
            data = b""
        if not data:
            self.ended = True
            self.closed_by_peer = True
            return False
        self._raw += data
        return True

    def _read_head(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._raw:
            if not self._recv(deadline):
                raise AssertionError(f"no response head within {timeout} s; got {self._raw[:500]!r}")
        head, self._raw = self._raw.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        self._decode()

    def _decode(self):
        if not self.chunked:
            self._body += self._raw
            self._raw = b""
            return
        while True:
            line_end = self._raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(self._raw[:line_end].split(b";")[0], 16)
            if len(self._raw) < line_end + 2 + size + 2:
                return
            self._body += self._raw[line_end + 2 : line_end + 2 + size]
            self._raw = self._raw[line_end + 2 + size + 2 :]
            if size == 0:
                self.ended = True
                return

    # -- API --------------------------------------------------------------------------------------------------

    @property
    def text(self):
        return self._body.decode("utf-8", errors="replace")

    def read_until(self, predicate, timeout=5.0):
        """Read until predicate(text) is true or `timeout` s pass; returns whether it became true."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self.text):
                return True
            if self.ended or not self._recv(deadline):
                self._decode()
                return predicate(self.text)
            self._decode()

    def wait_for(self, needle, timeout=5.0):
        return self.read_until(lambda text: needle in text, timeout)

    def read_to_end(self, timeout=5.0):
        """Read until the stream ends (terminating chunk or close); returns whether it ended in time."""
        deadline = time.monotonic() + timeout
        while not self.ended:
            if not self._recv(deadline):
                break
            self._decode()
        return self.ended

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def sse_events(text):
    """Parse the complete Server-Sent Events in `text`: a list of {"event", "id", "data", "fields"}.

    data is the parsed JSON, or the raw string when it is not JSON. Blocks without data (`retry:`) are skipped.
    """
    events = []
    blocks = text.replace("\r\n", "\n").split("\n\n")[:-1]  # the last part is not terminated yet
    for block in blocks:
        if not block.strip():
            continue
        fields = {}
        data_lines = []
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data_lines.append(value)
            else:
                fields[name] = value
        if not data_lines:
            continue  # e.g. the leading "retry:" block
        data = "\n".join(data_lines)
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = data
        events.append({"event": fields.get("event", "message"), "id": fields.get("id"), "data": parsed,
                       "fields": fields})
    return events
