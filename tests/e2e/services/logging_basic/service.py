"""Scenario: Python logging at several levels, print(), warnings, exceptions and long or multi-line messages."""
import logging
import threading
import warnings

from mvi import service

log = logging.getLogger("svc")
# The user's own level wins over the runtime's: only ERROR and above from "noisy".
logging.getLogger("noisy").setLevel(logging.ERROR)
noisy = logging.getLogger("noisy")


@service.entrypoint
def chatter(tag: str) -> str:
    """One line per level, a print() and two lines from the "noisy" logger."""
    log.debug("debug-line %s", tag)
    log.info("info-line %s", tag)
    log.warning("warning-line %s", tag)
    log.error("error-line %s", tag)
    log.critical("critical-line %s", tag)
    print(f"print-line {tag}")
    noisy.info("noisy-info %s", tag)
    noisy.error("noisy-error %s", tag)
    return "ok"


@service.entrypoint
def say(message: str, logger: str = "svc") -> int:
    """Log `message` as it is (CR/LF, any length) on `logger`; returns its length in characters."""
    logging.getLogger(logger).info("%s", message)
    return len(message)


@service.entrypoint
def caught(tag: str) -> str:
    """logger.exception inside an entrypoint: the record carries the traceback."""
    try:
        raise ValueError(f"bad value {tag}")
    except ValueError:
        log.exception("caught-it %s", tag)
    return "handled"


@service.entrypoint
def uncaught(tag: str) -> str:
    raise RuntimeError(f"uncaught-error {tag}")


@service.entrypoint
def warn(tag: str) -> str:
    warnings.warn(f"careful-now {tag}")
    return "warned"


@service.entrypoint
def threaded(tag: str) -> str:
    """print() from a thread the service starts (it runs outside the call, so it has no request id)."""
    worker = threading.Thread(target=lambda: print(f"thread-print {tag}"))
    worker.start()
    worker.join(5)
    return "done"


@service.entrypoint(disable_http_logs=True)
def quiet(tag: str) -> str:
    """No access-log line for this entrypoint; its own log lines still appear."""
    log.info("quiet-line %s", tag)
    return "shh"


@service.entrypoint(method="GET")
def loud(tag: str = "") -> str:
    return "loud"


if __name__ == "__main__":
    service.run()
