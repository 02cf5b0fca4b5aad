"""Scenario: a blocking sync entrypoint; how many run at once depends on --threads."""
import time

from mvi import service


@service.entrypoint
def block(seconds: float = 1.0) -> float:
    time.sleep(seconds)
    return seconds
