"""Used by mvi-runtime: runs the service's @service.on_startup and @service.on_shutdown functions, in registration
order. Thread-safety: called with the GIL from the runtime's main thread, never while calls run."""

import asyncio
import logging

from . import _runtime_loop

_log = logging.getLogger("mvi.runtime")


def _call(func):
    result = func()
    if asyncio.iscoroutine(result):
        loop = _runtime_loop.running_loop()
        if loop is not None:  # the service's own loop: what its async entrypoints and jobs share
            return asyncio.run_coroutine_threadsafe(result, loop).result()
        return asyncio.run(result)
    return result


def startup(functions):
    """Runs each startup function; the first exception propagates (the service does not start)."""
    for func in functions:
        _call(func)


def shutdown(functions):
    """Runs every shutdown function; an exception is logged with its traceback and the next one still runs."""
    for func in functions:
        try:
            _call(func)
        except Exception:
            _log.exception("on_shutdown function %r raised", getattr(func, "__name__", func))
