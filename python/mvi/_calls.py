"""call_service(): one service calls another's entrypoint over HTTP (SPEC §2.2), Daeploy's signature.
The URL comes from the environment; the caller's request id, a W3C traceparent and the calling service travel
along, so the callee's log lines carry the same request id and name the caller. Connection failures (nothing
was sent) are retried a bounded number of times; everything else raises ServiceCallError at once.
Thread-safety: no shared state; each call opens its own connection."""

import http.client
import json
import logging
import os
import re
import secrets
import time
import urllib.parse
from typing import Any

from . import utilities
from .exceptions import ServiceCallError

_log = logging.getLogger("mvi.communication")

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE", "PATCH")  # Daeploy's list
DEFAULT_TIMEOUT = 30.0  # seconds for connecting and for each read; a call may pass timeout=
CONNECT_ATTEMPTS = 3  # a refused or unresolvable connection is tried this often in all
RETRY_DELAY = 0.2  # seconds before the second attempt, doubled before each later one
_HEX32 = re.compile(r"[0-9a-f]{32}")


def service_url(service_name: str, entrypoint_name: str, service_version: str | None = None) -> str:
    """Where `entrypoint_name` of `service_name` is reached, in SPEC §2.2's order: MVI_SERVICE_<NAME>_URL, a
    Daeploy manager (MVI_MANAGER_URL / DAEPLOY_MANAGER_URL), else the Kubernetes Service `mvi deploy` makes."""
    env_name = "MVI_SERVICE_" + re.sub(r"[^A-Za-z0-9]", "_", service_name).upper() + "_URL"
    base = os.environ.get(env_name)
    if base:
        return f"{base.rstrip('/')}/{entrypoint_name}"
    manager = os.environ.get("MVI_MANAGER_URL") or os.environ.get("DAEPLOY_MANAGER_URL")
    if manager:
        target = f"{service_name}_{service_version}" if service_version else service_name
        return f"{manager.rstrip('/')}/services/{target}/{entrypoint_name}"
    host = _dns_label(f"{service_name}-{service_version}" if service_version else service_name)
    return f"http://{host}:8000/{entrypoint_name}"


def _dns_label(name: str) -> str:
    # Kubernetes names are DNS-1035 labels: `mvi deploy` maps dots and underscores to '-' (SPEC §13)
    return re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:63]


def _trace_headers() -> dict[str, str]:
    headers = {}
    call = _current_call()
    if call is not None:
        entrypoint, request_id = call
        headers["X-Request-ID"] = request_id
        # one trace per incoming request: the runtime's own ids are 32 hex digits, a W3C trace id's shape
        trace_id = request_id if _HEX32.fullmatch(request_id) and request_id != "0" * 32 else secrets.token_hex(16)
    else:
        entrypoint, trace_id = "", secrets.token_hex(16)
    headers["traceparent"] = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    caller = f"{utilities.get_service_name()}/{utilities.get_service_version()}"
    headers["X-MVI-Caller"] = f"{caller} {entrypoint}" if entrypoint else caller
    return headers


def _current_call():
    try:
        import _mvi_native
    except ImportError:
        return None
    current = getattr(_mvi_native, "current_call", None)
    return current() if current else None


def call_service(service_name: str, entrypoint_name: str, arguments: dict | None = None,
                 service_version: str | None = None, entrypoint_method: str = "POST", **request_kwargs: Any) -> Any:
    """Call `entrypoint_name` of another service with `arguments` as its JSON body and return the decoded answer.
    Raises ValueError for a method that is not HTTP's, ServiceCallError when the service cannot be reached or
    answers an error status (its `status_code` and `detail` say which). `timeout=` (seconds) and `headers=` are
    honoured; other keyword arguments Daeploy passed to requests are ignored with a warning."""
    method = str(entrypoint_method).upper()
    if method not in HTTP_METHODS:
        raise ValueError(f"Invalid HTTP method: {entrypoint_method}. Possible options: {list(HTTP_METHODS)}")
    timeout = request_kwargs.pop("timeout", DEFAULT_TIMEOUT)
    extra_headers = request_kwargs.pop("headers", None) or {}
    if request_kwargs:
        _log.warning("call_service: ignored option(s) %s (only timeout= and headers= are used)",
                     ", ".join(sorted(request_kwargs)))
    url = service_url(service_name, entrypoint_name, service_version)
    body = json.dumps(arguments if arguments else {}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json", **_trace_headers()}
    token = os.environ.get("MVI_AUTH_TOKEN") or os.environ.get("daeploy.auth")
    if token:
        headers["Authorization"] = f"Bearer {token}"  # the services of one deployment share the token
    headers.update(extra_headers)

    label = f"entrypoint: {entrypoint_name} in service: {service_name}"
    _log.info("Calling %s%s", label, f" ({service_version})" if service_version else "")
    _log.debug("Arguments: %s", arguments)
    status, text = _send(method, url, body, headers, timeout)
    _log.info("Response from entrypoint: %s, code: %d", text, status)
    if status >= 400:
        raise ServiceCallError(url, status, _detail(text))
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # a plain-text or HTML entrypoint


def _send(method, url, body, headers, timeout):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceCallError(url, None, f"not an http(s) URL: {url!r}")
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    delay = RETRY_DELAY
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        connection = connection_type(parts.hostname, parts.port, timeout=timeout)
        try:
            try:
                connection.connect()
            except OSError as exc:  # refused, unresolvable, timed out
                # nothing reached the service, so trying again cannot run the entrypoint twice
                if attempt == CONNECT_ATTEMPTS:
                    raise ServiceCallError(url, None, f"cannot connect after {attempt} attempts: {exc}") from exc
                _log.warning("call_service: cannot connect to %s (%s); attempt %d of %d in %.1f s",
                             url, exc, attempt + 1, CONNECT_ATTEMPTS, delay)
                time.sleep(delay)
                delay *= 2
                continue
            try:
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException) as exc:
                # the request may have run: never repeated
                raise ServiceCallError(url, None, f"no answer: {exc!r}") from exc
        finally:
            connection.close()
    raise AssertionError("unreachable")


def _detail(text):
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    return decoded.get("detail", decoded) if isinstance(decoded, dict) else decoded
