"""The one Service behind `from mvi import service`: entrypoints, parameters, periodic jobs and run().
Thread-safety: every method may be called from any thread; the registry is guarded by one lock."""

import builtins
import inspect
import math
import os
import re
import shutil
import sys
import threading
import typing
from typing import Any, Callable

from . import _backend, _wrapper
from ._analyse import analyse
from ._coerce import coerce
from ._describe import Context, describe_json
from ._invalid import Invalid
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
                   description: str | None = None) -> F: ...

    @typing.overload
    def entrypoint(self, func: None = None, /, *, method: HTTPMethod = "POST", monitor: bool = False,
                   disable_http_logs: bool = False, status_code: int = 200, summary: str | None = None,
                   description: str | None = None) -> Callable[[F], F]: ...

    def entrypoint(self, func: F | None = None, /, *, method: HTTPMethod = "POST", monitor: bool = False,
                   disable_http_logs: bool = False, status_code: int = 200, summary: str | None = None,
                   description: str | None = None, **unknown: Any) -> F | Callable[[F], F]:
        """Register a function as the entrypoint `/<its __name__>`: `@service.entrypoint` or
        `@service.entrypoint(method="GET", ...)`. Returns a wrapper that validates and coerces its arguments like
        the HTTP path does (raising mvi.ValidationError), then calls the function.

        method: the HTTP method (case-insensitive). monitor: store each call's request and response (SPEC §7).
        disable_http_logs: no access-log line. status_code: the success status, 200 to 599. summary, description:
        the OpenAPI operation's texts (description defaults to the docstring).
        Unknown options, bad values, unsupported annotations and reserved names raise at registration."""
        # unknown options land in **unknown so the error can name the function, which the called form only
        # learns when it is applied
        options = {"method": method, "monitor": monitor, "disable_http_logs": disable_http_logs,
                   "status_code": status_code, "summary": summary, "description": description, **unknown}
        if func is None:
            return lambda f: self._add_entrypoint(f, options)
        return self._add_entrypoint(func, options)

    def _add_entrypoint(self, func, options):
        name = _function_name(func, "entrypoint")
        label = f"entrypoint {name!r}"
        unknown = sorted(set(options) - set(ENTRYPOINT_DEFAULTS))
        _check(not unknown, TypeError,
               f"{label}: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(ENTRYPOINT_DEFAULTS)}")
        method, status = options["method"], options["status_code"]
        _check(isinstance(method, str) and method.upper() in METHODS, ValueError,
               f"{label}: method must be one of {', '.join(sorted(METHODS))}, got {method!r}")
        # 1xx are interim answers, never a function's final response
        _check(type(status) is int and 200 <= status <= 599, ValueError,
               f"{label}: status_code must be an int from 200 to 599, got {status!r}")
        for flag in ("monitor", "disable_http_logs"):
            _check(isinstance(options[flag], bool), TypeError, f"{label}: {flag} must be True or False")
        for text in ("summary", "description"):
            _check(options[text] is None or isinstance(options[text], str), TypeError,
                   f"{label}: {text} must be a str")
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
            _check(name not in self._entrypoints, ValueError, f"{label} is already registered")
            self._classes.extend(ctx.classes[len(self._classes):])
            self._entrypoints[name] = {
                # the original function: the runtime validates in C++ and must not validate twice
                "name": name, "function": func, "method": method.upper(), "status_code": status,
                "monitor": options["monitor"], "disable_http_logs": options["disable_http_logs"],
                "summary": options["summary"], "description": description,
                "is_async": inspect.iscoroutinefunction(func), "params": params, "returns": returns,
            }
            wrapper = _wrapper.validating_wrapper(func, params, label, self._classes)
            self._wrappers[name] = wrapper
        return wrapper

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

        Its type is `type` when given, else the type of `value` (None: any JSON value); values are JSON data
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
        binary = os.environ.get("MVI_RUNTIME_BIN") or shutil.which("mvi-runtime")
        if not binary:
            raise RuntimeError("service.run(): mvi-runtime not found on PATH; install it or set MVI_RUNTIME_BIN")
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise RuntimeError(f"service.run(): {binary!r} is not an executable file (MVI_RUNTIME_BIN)")
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

service = Service()
"""The one service object (`from mvi import service`): entrypoints, parameters, periodic jobs and run()."""
