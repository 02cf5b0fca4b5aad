"""Under mvi-runtime: routes Python `logging`, `warnings` and print()/sys.stdout/sys.stderr into the runtime's one log.

Thread-safe: logging.Handler serialises emit(); the stream replacements keep one partial-line buffer per thread.
"""

import io
import logging
import sys
import threading
import traceback


class RuntimeHandler(logging.Handler):
    """Hands each record to the runtime, which adds time, service, entrypoint and request id."""

    def __init__(self, native):
        super().__init__()
        self._native = native

    def emit(self, record):
        try:
            text = None
            if record.exc_info and record.exc_info[0] is not None:
                text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            elif record.exc_text:
                text = record.exc_text
            if record.stack_info:
                text = f"{text}\n{record.stack_info}" if text else record.stack_info
            # warnings' formatted text and many messages end in a newline the log line does not need
            self._native.log(record.levelno, record.name, record.getMessage().rstrip("\n"), text)
        except Exception:  # a broken __str__ in a log argument must not break the caller
            self.handleError(record)


class RuntimeStream(io.TextIOBase):
    """A text stream whose complete lines become log records (print() output, libraries writing to stderr)."""

    def __init__(self, native, name, levelno, original):
        super().__init__()
        self._native = native
        self._name = name
        self._levelno = levelno
        self._original = original
        self._local = threading.local()

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "replace"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        # Some libraries (faulthandler, subprocess) need a real descriptor; the original one is still the log's stdout.
        return self._original.fileno()

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        pending = getattr(self._local, "pending", "") + text
        *lines, rest = pending.split("\n")
        if len(rest) > _MAX_PENDING:  # e.g. a progress bar redrawn with \r and no newline: do not grow forever
            lines.append(rest)
            rest = ""
        self._local.pending = rest  # before logging, so a failure can never leave text stuck for later writes
        for line in lines:
            self._native.log(self._levelno, self._name, line.rstrip("\r"), None)
        return len(text)

    def flush(self):
        pending = getattr(self._local, "pending", "")
        if pending:
            self._local.pending = ""
            self._native.log(self._levelno, self._name, pending, None)


_MAX_PENDING = 64 * 1024  # characters of an unfinished line held per thread

_PYTHON_LEVELS = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
                  "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL}


def install():
    """Called by the runtime before the service file runs; user code may still change levels and add handlers."""
    import _mvi_native

    root = logging.getLogger()
    root.setLevel(_PYTHON_LEVELS.get(_mvi_native.log_level(), logging.INFO))
    if not any(isinstance(h, RuntimeHandler) for h in root.handlers):
        root.addHandler(RuntimeHandler(_mvi_native))
    logging.captureWarnings(True)
    sys.stdout = RuntimeStream(_mvi_native, "stdout", logging.INFO, sys.__stdout__)
    sys.stderr = RuntimeStream(_mvi_native, "stderr", logging.WARNING, sys.__stderr__)
    _announce_os_exit(_mvi_native)


def _announce_os_exit(native):
    """os._exit() ends the process past every exit path of the runtime: log who called it and flush the log first."""
    import os

    real_exit = getattr(os._exit, "__wrapped__", os._exit)
    runtime_pid = os.getpid()

    def _exit(status):
        # A forked child (multiprocessing ends its workers with os._exit) has no log writer: only the
        # runtime's own process announces.
        if os.getpid() == runtime_pid:
            try:
                native.exit_notice(int(status))
            except Exception:  # the exit itself must happen whatever the log does
                pass
        real_exit(status)

    _exit.__wrapped__ = real_exit
    _exit.__doc__ = real_exit.__doc__
    os._exit = _exit
