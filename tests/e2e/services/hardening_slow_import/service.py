"""Scenario: a service whose import takes 10 s (a SIGTERM meanwhile must end the process at once)."""
import time

from mvi import service

time.sleep(10)


@service.entrypoint
def ping() -> str:
    return "pong"
