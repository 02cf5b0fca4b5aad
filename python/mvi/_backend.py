"""Where parameters, notifications and stored values go: the runtime's `_mvi_native` module inside mvi-runtime,
in-process dicts under plain python. Thread-safe: the choice is made once under a lock; LocalBackend locks its state."""

import copy
import logging
import collections
import threading
import time

from ._coerce import coerce
from ._invalid import Invalid

_LEVELS = {0: logging.INFO, 1: logging.WARNING, 2: logging.CRITICAL}
_notify_log = logging.getLogger("mvi.notify")


class LocalBackend:
    """Plain-python stand-in for the runtime, with the same validation, so users' own tests behave alike."""

    def __init__(self):
        self._lock = threading.Lock()
        self._parameters = {}  # name -> [value, type description]
        # (unix time, {name: value}); bounded so a long-running process cannot grow without limit
        self._stored = collections.deque(maxlen=10000)

    def add_parameter(self, name, value, type_desc, expose, monitor, description, disable_http_logs=False):
        # expose/monitor/disable_http_logs only matter to the HTTP side; from Python every parameter stays settable
        with self._lock:
            if name in self._parameters:
                raise ValueError(f"parameter {name!r} is already defined")
            # a copy: coercion passes containers through, and the caller's object must not alias the parameter
            self._parameters[name] = [copy.deepcopy(value), type_desc]

    def get_parameter(self, name):
        with self._lock:
            entry = self._parameters.get(name)
            if entry is None:
                raise KeyError(f"unknown parameter {name!r}")
            # a copy, like the runtime hands out: mutating the result must not change the parameter
            return copy.deepcopy(entry[0])

    def set_parameter(self, name, value):
        with self._lock:
            entry = self._parameters.get(name)
            if entry is None:
                raise KeyError(f"unknown parameter {name!r}")
            try:
                entry[0] = copy.deepcopy(coerce(value, entry[1]))
            except Invalid as exc:
                raise ValueError(f"parameter {name!r}: {exc}") from None

    def get_parameters(self):
        with self._lock:
            return {name: copy.deepcopy(entry[0]) for name, entry in self._parameters.items()}

    def notify(self, msg, severity, dashboard, emails, timer):
        _notify_log.log(_LEVELS[severity], "%s", msg)

    def store(self, variables):
        with self._lock:
            self._stored.append((time.time(), dict(variables)))

    def stored(self):
        with self._lock:
            return list(self._stored)


class NativeBackend(LocalBackend):
    """Forwards to the runtime; features the runtime does not export yet fall back to the local behaviour."""

    def __init__(self, native):
        super().__init__()
        self._native = native

    def add_parameter(self, name, value, type_desc, expose, monitor, description, disable_http_logs=False):
        self._native.add_parameter(name, value, type_desc, expose, monitor, description, disable_http_logs)

    def get_parameter(self, name):
        return self._native.get_parameter(name)

    def set_parameter(self, name, value):
        self._native.set_parameter(name, value)

    def get_parameters(self):
        return dict(self._native.get_parameters())

    def notify(self, msg, severity, dashboard, emails, timer):
        try:
            self._native.notify(msg, severity, dashboard, emails, timer)
        except Exception:  # delivery problems must never reach the caller (SPEC §2.2)
            _notify_log.warning("notification could not be delivered: %s", msg, exc_info=True)

    def store(self, variables):
        native_store = getattr(self._native, "store", None)
        if native_store is None:
            super().store(variables)
        else:
            native_store(dict(variables))


_lock = threading.Lock()
_current = None


def get():
    """The backend for this process, chosen on first use."""
    global _current
    backend = _current  # fast path: entrypoints read parameters on every call
    if backend is not None:
        return backend
    with _lock:
        if _current is None:
            try:
                import _mvi_native  # exists only inside mvi-runtime
            except ImportError:
                _current = LocalBackend()
            else:
                _current = NativeBackend(_mvi_native)
        return _current


def under_runtime() -> bool:
    return isinstance(get(), NativeBackend)


def _reset():
    """Tests only: forget the choice (and all local state) so the next call decides again."""
    global _current
    with _lock:
        _current = None
