"""The one Service behind `from mvi import service`: entrypoints, parameters, periodic jobs and run().
Thread-safety: every method may be called from any thread; the registry is guarded by one lock."""

import builtins
import inspect
import logging
import math
import os
import re
import sys
import threading
import typing
from typing import Any, Callable

from . import _backend, _wrapper
from ._analyse import analyse, describe_for
from ._coerce import coerce
from ._describe import Context, describe_json
from ._invalid import Invalid
from ._mounts import MountedApps
from ._runtime_binary import find_runtime
from ._unsupported import UnsupportedType

HTTPMethod = typing.Literal["GET", "POST", "PUT", "PATCH", "DELETE", "get", "post", "put", "patch", "delete"]
"""The `method=` of an entrypoint; the runtime reads it case-insensitively."""
METHODS = frozenset(m.upper() for m in typing.get_args(HTTPMethod))
RESERVED_NAMES = frozenset(
    {"parameters", "~parameters", "notifications", "logs", "health", "metrics", "docs", "redoc",
     "openapi.json", "status", "~monitor", "login", "static"}
)  # first path segments of the built-in routes (SPEC §4), for plain python3; under the runtime its route table's


def _reserved_names() -> frozenset:
    """The runtime's own list (derived from its one route table) when running under it, else RESERVED_NAMES."""
    try:
        import _mvi_native
    except ImportError:
        return RESERVED_NAMES
    segments = getattr(_mvi_native, "reserved_segments", None)  # a test's stand-in may not have it
    return frozenset(segments()) if segments else RESERVED_NAMES
F = typing.TypeVar("F", bound=Callable[..., Any])
_UNSET: Any = type("_Unset", (), {"__repr__": lambda self: "<unset>"})()  # response_model not given
_log = logging.getLogger("mvi.service")
_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")  # safe as a URL path segment and a JSON key


def _function_name(func, what):
    if not callable(func):
        raise TypeError(f"{what}: expected a function, got {func!r}")
    name = getattr(func, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        # the name becomes the route, so lambdas and partials cannot be registered
        raise TypeError(f"{what}: {func!r} needs a Python identifier as its __name__ (use a def)")
    return name


def _check(ok, error, message):
    if not ok:
        raise error(message)


class Service:
    """Registry of what the service file declares; `Service()` always returns the same object."""

    _instance = None
    _instance_lock = threading.Lock()

    def __new__(cls) -> "Service":
        with cls._instance_lock:
            if cls._instance is None:
                instance = super().__new__(cls)
                instance._init()
                cls._instance = instance
            return cls._instance

    def _init(self):
        # re-entrant: analysing annotations can run user code (string annotations, class hints)
        self._lock = threading.RLock()
        self._entrypoints = {}  # name -> export record, in registration order
        self._wrappers = {}  # name -> the validating callable the decorator returned
        self._classes = []  # the export's "classes": type descriptions' `ref` index it; only ever grows
        self._jobs = {}
        self._lifespan = {"startup": [], "shutdown": []}
        self._parameter_names = set()

    def _reset(self):
        """Tests only: forget every registration and the backend choice."""
        _backend._reset()
        self._init()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # only reached for names that are not real attributes: `service.hello(...)` calls the entrypoint
        wrappers = self.__dict__.get("_wrappers", {})
        if name in wrappers:
            return wrappers[name]
        raise AttributeError(f"service has no attribute or entrypoint {name!r}")

    # ---- entrypoints ----

    @typing.overload
    def entrypoint(self, func: F, /, *, method: HTTPMethod = "POST", monitor: bool = False,
                   disable_http_logs: bool = False, status_code: int = 200, summary: str | None = None,
                   description: str | None = None, response_model: Any = _UNSET, tags: list[str] | None = None,
                   response_description: str | None = None, deprecated: bool = False,
                   include_in_schema: bool = True, operation_id: str | None = None, response_class: Any = None) -> F: ...

    @typing.overload
    def entrypoint(self, func: None = None, /, *, method: HTTPMethod = "POST", monitor: bool = False,
                   disable_http_logs: bool = False, status_code: int = 200, summary: str | None = None,
                   description: str | None = None, response_model: Any = _UNSET, tags: list[str] | None = None,
                   response_description: str | None = None, deprecated: bool = False,
                   include_in_schema: bool = True, operation_id: str | None = None, response_class: Any = None) -> Callable[[F], F]: ...

    def entrypoint(self, func: F | None = None, /, *, method: HTTPMethod = "POST", monitor: bool = False,
                   disable_http_logs: bool = False, status_code: int = 200, summary: str | None = None,
                   description: str | None = None, response_model: Any = _UNSET, tags: list[str] | None = None,
                   response_description: str | None = None, deprecated: bool = False,
                   include_in_schema: bool = True, operation_id: str | None = None, response_class: Any = None,
                   **unknown: Any) -> F | Callable[[F], F]:
        """Register a function as the entrypoint `/<its __name__>`: `@service.entrypoint` or
        `@service.entrypoint(method="GET", ...)`. Returns a wrapper that validates and coerces its arguments like
        the HTTP path does (raising mvi.ValidationError), then calls the function.

        method: the HTTP method (case-insensitive). monitor: store each call's request and response (SPEC §7).
        disable_http_logs: no access-log line. status_code: the success status, 200 to 599. summary, description:
        the OpenAPI operation's texts (description defaults to the docstring).
        FastAPI's route options, as Daeploy passed them on: response_model (the type the result is checked and
        documented as, instead of the return annotation; None: not checked), tags, response_description,
        deprecated, include_in_schema, operation_id (OpenAPI), response_class (JSONResponse, PlainTextResponse or
        HTMLResponse, or its name); FastAPI's other options are accepted and ignored with a warning.
        Unknown options, bad values, unsupported annotations and reserved names raise at registration."""
        # unknown options land in **unknown so the error can name the function, which the called form only
        # learns when it is applied
        options = {"method": method, "monitor": monitor, "disable_http_logs": disable_http_logs,
                   "status_code": status_code, "summary": summary, "description": description,
                   "response_model": response_model, "tags": tags, "response_description": response_description,
                   "deprecated": deprecated, "include_in_schema": include_in_schema, "operation_id": operation_id,
                   "response_class": response_class, **unknown}
        if func is None:
            return lambda f: self._add_entrypoint(f, options)
        return self._add_entrypoint(func, options)

    def _add_entrypoint(self, func, options):
        name = _function_name(func, "entrypoint")
        label = f"entrypoint {name!r}"
        unknown = sorted(set(options) - set(ENTRYPOINT_DEFAULTS) - FASTAPI_IGNORED_OPTIONS)
        _check(not unknown, TypeError,
               f"{label}: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(ENTRYPOINT_DEFAULTS)}")
        ignored = sorted(set(options) & FASTAPI_IGNORED_OPTIONS)
        if ignored:
            _log.warning("%s: FastAPI option(s) %s have no effect under mvi-runtime and are ignored",
                         label, ", ".join(ignored))
        method, status = options["method"], options["status_code"]
        _check(isinstance(method, str) and method.upper() in METHODS, ValueError,
               f"{label}: method must be one of {', '.join(sorted(METHODS))}, got {method!r}")
        # 1xx are interim answers, never a function's final response
        _check(type(status) is int and 200 <= status <= 599, ValueError,
               f"{label}: status_code must be an int from 200 to 599, got {status!r}")
        for flag in ("monitor", "disable_http_logs"):
            _check(isinstance(options[flag], bool), TypeError, f"{label}: {flag} must be True or False")
        for flag in ("deprecated", "include_in_schema"):
            _check(isinstance(options[flag], bool), TypeError, f"{label}: {flag} must be True or False")
        for text in ("summary", "description", "response_description", "operation_id"):
            _check(options[text] is None or isinstance(options[text], str), TypeError,
                   f"{label}: {text} must be a str")
        tags = options["tags"]
        _check(tags is None or (isinstance(tags, (list, tuple)) and all(isinstance(t, str) for t in tags)),
               TypeError, f"{label}: tags must be a list of str")
        media_type = _media_type(label, options["response_class"])
        _check(name not in _reserved_names(), ValueError,
               f"{label}: the name clashes with the built-in route /{name}; rename the function")
        description = options["description"]
        if description is None and func.__doc__:
            description = inspect.cleandoc(func.__doc__)
        with self._lock:
            # classes are numbered in the service-wide list, so analysis and commit happen under one lock;
            # a failed analysis leaves the list untouched (it works on a copy)
            ctx = Context(self._classes)
            params, returns = analyse(func, label, ctx)
            if options["response_model"] is None:
                returns = {"kind": "any"}  # FastAPI's response_model=None: the result is not checked
            elif options["response_model"] is not _UNSET:
                returns = describe_for(label, "response_model", options["response_model"], ctx)
            _check(name not in self._entrypoints, ValueError, f"{label} is already registered")
            _check(not any(e.get("mount", "").split("/")[1:2] == [name] for e in self._entrypoints.values()),
                   ValueError, f"{label}: /{name} is where an app is mounted; rename the function")
            self._classes.extend(ctx.classes[len(self._classes):])
            self._entrypoints[name] = {
                # the original function: the runtime validates in C++ and must not validate twice
                "name": name, "function": func, "method": method.upper(), "status_code": status,
                "monitor": options["monitor"], "disable_http_logs": options["disable_http_logs"],
                "summary": options["summary"], "description": description,
                "is_async": inspect.iscoroutinefunction(func), "params": params, "returns": returns,
                "tags": list(tags or ()), "deprecated": options["deprecated"],
                "include_in_schema": options["include_in_schema"], "operation_id": options["operation_id"] or "",
                "response_description": options["response_description"] or "", "media_type": media_type,
            }
            wrapper = _wrapper.validating_wrapper(func, params, label, self._classes)
            self._wrappers[name] = wrapper
        return wrapper

    # ---- mounted apps ----

    @property
    def app(self) -> "MountedApps":
        """Daeploy's `service.app`: `service.app.mount("/dash", wsgi_or_asgi_app)` serves a WSGI or ASGI app under
        that path (python-api.md, "Mounting a WSGI or ASGI app")."""
        return MountedApps(self)

    def _add_mount(self, prefix, call, is_async, label):
        first = prefix.split("/")[1]
        _check(first not in _reserved_names(), ValueError,
               f"{label}: /{first} is a built-in route; choose another path")
        with self._lock:
            _check(first not in self._entrypoints, ValueError, f"{label}: /{first} is an entrypoint")
            name = "mount:" + prefix
            _check(name not in self._entrypoints, ValueError, f"{label}: an app is already mounted there")
            for other in self._entrypoints.values():
                mounted = other.get("mount")
                _check(not mounted or not (mounted.startswith(prefix + "/") or prefix.startswith(mounted + "/")),
                       ValueError, f"{label}: overlaps the app mounted at {mounted!r}")
            self._entrypoints[name] = {
                "name": name, "function": call, "method": "POST", "status_code": 200, "monitor": False,
                "disable_http_logs": False, "summary": None, "description": None, "is_async": is_async,
                "params": [{"name": "request", "type": {"kind": "any"}, "required": True}],
                "returns": {"kind": "any"}, "tags": [], "deprecated": False, "include_in_schema": False,
                "operation_id": "", "response_description": "", "media_type": "", "mount": prefix,
            }

    # ---- periodic jobs ----

    def call_every(self, seconds: float, wait_first: bool = False) -> Callable[[F], F]:
        """`@service.call_every(seconds)`: under the runtime, the function is called every `seconds` (a positive
        number), first after one period when `wait_first`, else at once. The function takes no arguments (or only
        ones with defaults) and may be `async def`; it is returned unchanged."""
        if callable(seconds):
            raise TypeError("call_every needs the period first: @service.call_every(seconds)")
        _check(type(seconds) in (int, float) and math.isfinite(seconds) and seconds > 0, ValueError,
               f"call_every: seconds must be a positive number, got {seconds!r}")
        _check(isinstance(wait_first, bool), TypeError, "call_every: wait_first must be True or False")

        def register(func: F) -> F:
            name = _function_name(func, "job")
            label = f"job {name!r}"
            for p in inspect.signature(func).parameters.values():
                _check(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD), TypeError,
                       f"{label}: parameter {p.name!r} has no default; periodic jobs are called without arguments")
            with self._lock:
                _check(name not in self._jobs, ValueError, f"{label} is already registered")
                self._jobs[name] = {
                    "name": name, "function": func, "seconds": float(seconds), "wait_first": wait_first,
                    "is_async": inspect.iscoroutinefunction(func),
                }
            return func

        return register

    # ---- life cycle ----

    def on_startup(self, func: F) -> F:
        """`@service.on_startup`: under the runtime, called once after the service file is imported and before the
        service is ready, in every interpreter (each worker process); an exception stops the start. Takes no
        arguments (or only ones with defaults), may be `async def`; returned unchanged. Plain `import` runs nothing."""
        return self._lifespan_hook("startup", func)

    def on_shutdown(self, func: F) -> F:
        """`@service.on_shutdown`: under the runtime, called when an interpreter stops (SIGTERM, a recycled worker),
        after its last call, bounded by the graceful timeout; an exception is logged and the others still run."""
        return self._lifespan_hook("shutdown", func)

    def _lifespan_hook(self, phase, func):
        _check(callable(func), TypeError, f"on_{phase} takes a function: @service.on_{phase}")
        name = _function_name(func, f"on_{phase} function")
        for p in inspect.signature(func).parameters.values():
            _check(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD), TypeError,
                   f"on_{phase} function {name!r}: parameter {p.name!r} has no default; it is called without arguments")
        with self._lock:
            self._lifespan[phase].append(func)
        return func

    # ---- parameters and monitoring ----

    def add_parameter(self, name: str, value: Any, *, expose: bool = True, monitor: bool = False,
                      description: str | None = None, type: Any = None, disable_http_logs: bool = False) -> None:
        """Declare a named value that can be read and changed over HTTP (`/parameters/<name>`).

        Its type is `type` when given, else the type of `value` (None: any JSON value; an int or a float: any
        number, kept as sent, so a parameter declared as 10 takes 0.5 as Daeploy's did); values are JSON data
        (str, int, float, bool, None, list, dict). expose=False makes it read-only over HTTP; monitor=True records
        every change; description documents it in /openapi.json; disable_http_logs=True leaves its GETs and POSTs out
        of the access log (as for an entrypoint). A bad name, type or value raises at once."""
        _check(isinstance(name, str) and _PARAMETER_NAME.fullmatch(name), ValueError,
               f"parameter name must be a non-empty str of letters, digits, '_', '.', '-', got {name!r}")
        label = f"parameter {name!r}"
        _check(isinstance(expose, bool) and isinstance(monitor, bool) and isinstance(disable_http_logs, bool),
               TypeError, f"{label}: expose, monitor and disable_http_logs must be True or False")
        _check(description is None or isinstance(description, str), TypeError, f"{label}: description must be a str")
        annotation = type
        if annotation is None:
            # the exact type, so True makes a bool parameter, not an int one; None says nothing: any
            annotation = typing.Any if value is None else builtins.type(value)
        try:
            if type is None and builtins.type(value) in (int, float):
                # "a number" (SPEC §2.1): Daeploy accepted 0.5 for a parameter declared as 10; type=int is strict
                desc = {"kind": "number"}
            else:
                desc = describe_json(annotation)
        except UnsupportedType as exc:
            hint = "parameters hold JSON values (str, int, float, bool, None, list, dict)"
            raise TypeError(f"{label}: {exc}; {hint}") from None
        try:
            value = coerce(value, desc)
        except Invalid as exc:
            raise ValueError(f"{label}: the initial value does not fit its type: {exc}") from None
        with self._lock:
            _check(name not in self._parameter_names, ValueError, f"{label} is already defined")
            _backend.get().add_parameter(name, value, desc, expose, monitor, description, disable_http_logs)
            self._parameter_names.add(name)

    def get_parameter(self, name: str) -> Any:
        """The current value of parameter `name` (a copy); KeyError for an unknown name."""
        return _backend.get().get_parameter(name)

    def set_parameter(self, name: str, value: Any) -> None:
        """Validates (lax, like HTTP) and sets; KeyError for an unknown name, ValueError for a wrong type."""
        _backend.get().set_parameter(name, value)

    def get_parameters(self) -> dict[str, Any]:
        """{name: current value} of every parameter."""
        return _backend.get().get_parameters()

    def store(self, **variables: Any) -> None:
        """Record monitored values, e.g. `service.store(temperature=21.5)` (SPEC §7)."""
        if variables:
            _backend.get().store(variables)

    # ---- running ----

    def run(self) -> None:
        """Under mvi-runtime: nothing to do. From `python service.py`: become `mvi-runtime service.py`."""
        if _backend.under_runtime():
            return
        caller = sys._getframe(1).f_globals
        if caller.get("__name__") != "__main__":
            return  # imported, e.g. by the user's tests: the legacy unguarded run() must not start a server
        main_file = caller.get("__file__")
        if not main_file:
            raise RuntimeError("service.run(): no service file to serve (interactive or -c); use mvi-runtime FILE")
        binary = find_runtime("service.run()")  # MVI_RUNTIME_BIN, beside the package, PATH (SPEC §13)
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()  # exec discards unflushed buffers
        os.execv(binary, [binary, os.path.abspath(main_file), *sys.argv[1:]])

    # ---- read by the runtime ----

    def _export(self):
        """Plain data for the C++ registry: entrypoints and jobs in registration order, and the classes that the
        type descriptions' `ref`s index (docs/dev/type-descriptions.md)."""
        with self._lock:
            return {
                "entrypoints": [dict(e, params=[dict(p) for p in e["params"]]) for e in self._entrypoints.values()],
                "jobs": [dict(j) for j in self._jobs.values()],
                "classes": list(self._classes),
                "startup": list(self._lifespan["startup"]),
                "shutdown": list(self._lifespan["shutdown"]),
            }


# the options and their defaults, read from entrypoint()'s own signature so that they are written once
ENTRYPOINT_DEFAULTS = {p.name: p.default for p in inspect.signature(Service.entrypoint).parameters.values()
                       if p.kind is p.KEYWORD_ONLY}

# FastAPI's other add_api_route() options: Daeploy passed them through, so services use them; nothing here
# gives them a meaning (dependencies, response filtering, route names), so they are accepted with a warning.
FASTAPI_IGNORED_OPTIONS = frozenset({
    "dependencies", "responses", "name", "callbacks", "openapi_extra", "generate_unique_id_function",
    "response_model_include", "response_model_exclude", "response_model_by_alias", "response_model_exclude_unset",
    "response_model_exclude_defaults", "response_model_exclude_none", "route_class_override",
    "dependency_overrides_provider",
})

# response_class -> the media type the runtime sends a str result as (None: JSON)
_MEDIA_TYPES = {"JSONResponse": None, "ORJSONResponse": None, "UJSONResponse": None,
                "PlainTextResponse": "text/plain", "HTMLResponse": "text/html"}


def _media_type(label, response_class):
    if response_class is None:
        return ""
    name = response_class if isinstance(response_class, str) else getattr(response_class, "__name__", None)
    _check(name in _MEDIA_TYPES, ValueError,
           f"{label}: response_class {response_class!r} is not supported; use JSONResponse, PlainTextResponse or "
           f"HTMLResponse (or their names)")
    return _MEDIA_TYPES[name] or ""

service = Service()
"""The one service object (`from mvi import service`): entrypoints, parameters, periodic jobs and run()."""
