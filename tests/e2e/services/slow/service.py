"""Scenario: a request that is still running when SIGTERM arrives."""
import time

from mvi import service


@service.entrypoint
def slow() -> str:
    time.sleep(1.0)
    return "slept"


if __name__ == "__main__":
    service.run()
