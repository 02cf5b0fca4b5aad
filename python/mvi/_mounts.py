"""service.app: Daeploy's `service.app.mount(path, app)` for a user's own WSGI app (Flask, a Dash app's server) or
ASGI app (Starlette, a FastAPI app or router), served by the runtime under that path prefix (SPEC §13, issue 15).
Each mount becomes a hidden entrypoint that takes the request as plain data and answers {"status", "headers",
"body"}; the runtime routes every method under the prefix to it. Responses are buffered, not streamed.
Thread-safety: mount() registers under the service's lock; a WSGI app is called on executor threads (as WSGI
servers do: wsgi.multithread is True), an ASGI app on the runtime's event loop."""

import asyncio
import base64
import inspect
import io
import re
import sys
import urllib.parse

_PREFIX = re.compile(r"(/[A-Za-z0-9_.~-]+)+")


class MountedApps:
    """`service.app`: what Daeploy users called on their FastAPI app to add their own routes."""

    def __init__(self, service):
        self._service = service

    def mount(self, path: str, app, name: str | None = None) -> None:
        """Serve `app` (WSGI or ASGI) under `path` ("/dashboard"): every method, the path and everything below it.
        Starlette's WSGIMiddleware(app) and a Dash app are unwrapped to their WSGI app. `name` is accepted for
        FastAPI's signature and unused."""
        label = f"service.app.mount({path!r})"
        if not isinstance(path, str) or not _PREFIX.fullmatch(path.rstrip("/") or "/"):
            raise ValueError(f"{label}: the path must be like '/dashboard' (segments of letters, digits, '_.~-')")
        prefix = path.rstrip("/")
        call, is_async = _caller(label, app, prefix)
        self._service._add_mount(prefix, call, is_async, label)

    def __repr__(self):
        return "<service.app: mount(path, app) serves a WSGI or ASGI app under a path>"


def _caller(label, app, prefix):
    inner = app
    # Daeploy's recipe: service.app.mount("/dash", WSGIMiddleware(dash_app.server)); the runtime calls WSGI itself
    if type(inner).__name__ == "WSGIMiddleware" and callable(getattr(inner, "app", None)):
        inner = inner.app
    if not callable(inner) and callable(getattr(inner, "server", None)):
        inner = inner.server  # a Dash app: its Flask server
    if not callable(inner):
        raise TypeError(f"{label}: {app!r} is not a WSGI or ASGI app")
    if _is_asgi(inner):
        return _asgi_caller(inner, prefix), True
    return _wsgi_caller(inner, prefix), False


def _is_asgi(app):
    if inspect.iscoroutinefunction(app):
        return True
    call = getattr(type(app), "__call__", None)
    return call is not None and inspect.iscoroutinefunction(call)


def _decoded_body(request):
    return base64.b64decode(request["body"]) if request.get("body") else b""


def _server(request):
    host = next((v for k, v in request["headers"] if k.lower() == "host"), "localhost")
    name, _, port = host.rpartition(":") if re.search(r":\d+$", host) else (host, "", "80")
    return name or host, port or "80"


def _wsgi_caller(app, prefix):
    def call(request):
        body = _decoded_body(request)
        name, port = _server(request)
        environ = {
            "REQUEST_METHOD": request["method"],
            "SCRIPT_NAME": request["root_path"],
            # PEP 3333: the percent-decoded path as latin-1 text
            "PATH_INFO": urllib.parse.unquote_to_bytes(request["path"]).decode("latin-1"),
            "QUERY_STRING": request["query"],
            "SERVER_NAME": name,
            "SERVER_PORT": port,
            "SERVER_PROTOCOL": "HTTP/" + request["http_version"],
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in request["headers"]:
            key = key.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                name = "HTTP_" + key
                environ[name] = f"{environ[name]},{value}" if name in environ else value
        started = []
        chunks = []

        def start_response(status, headers, exc_info=None):
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return chunks.append

        result = app(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    chunks.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError(f"the WSGI app mounted at {prefix!r} never called start_response")
        status, headers = started
        return {"status": int(str(status).split(" ", 1)[0]), "headers": [[str(k), str(v)] for k, v in headers],
                "body": b"".join(bytes(c) for c in chunks)}

    call.__name__ = "mounted_wsgi_app"
    return call


def _asgi_caller(app, prefix):
    async def call(request):
        body = _decoded_body(request)
        name, port = _server(request)
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request["http_version"], "method": request["method"], "scheme": "http",
            # the path below the mount: old Starlette routes on "path" as is, new Starlette strips "root_path"
            # only when "path" starts with it, so the sub-path works for both
            "path": urllib.parse.unquote(request["path"] or "/"),
            "raw_path": (request["path"] or "/").encode("latin-1"),
            "root_path": request["root_path"],
            "query_string": request["query"].encode("latin-1"),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request["headers"]],
            "client": None, "server": (name, int(port) if port.isdigit() else 80), "state": {},
        }
        answer = {"status": None, "headers": [], "body": []}
        delivered = False

        async def receive():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the answer is buffered: no disconnect to report before it ends

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = [[k.decode("latin-1"), v.decode("latin-1")]
                                     for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                answer["body"].append(bytes(message.get("body", b"")))

        await app(scope, receive, send)
        if answer["status"] is None:
            raise RuntimeError(f"the ASGI app mounted at {prefix!r} sent no http.response.start")
        return {"status": answer["status"], "headers": answer["headers"], "body": b"".join(answer["body"])}

    call.__name__ = "mounted_asgi_app"
    return call
