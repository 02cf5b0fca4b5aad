"""Scenario: the hardening suites' service (tests/e2e/test_hardening_*.py): typed arguments, a slow call for the
request deadline and the queue, NaN/Infinity results, a GET route, and an exception whose message must stay in the log."""
import math
import time
from typing import Any

from mvi import service

service.add_parameter("threshold", 0.5)


@service.entrypoint
def echo(n: int, label: str = "x", ratio: float = 1.0) -> dict:
    return {"n": n, "label": label, "ratio": ratio}


@service.entrypoint
def anything(value: Any = None) -> Any:
    return value


@service.entrypoint
def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@service.entrypoint
def not_a_number() -> float:
    return float("nan")


@service.entrypoint
def infinities() -> list:
    return [math.inf, -math.inf, 1.5]


@service.entrypoint
def boom() -> str:
    raise RuntimeError("hardening-secret-traceback-marker")


@service.entrypoint(method="GET")
def hello(name: str = "world") -> str:
    return "hello " + name


if __name__ == "__main__":
    service.run()
