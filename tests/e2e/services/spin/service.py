"""Scenario: an entrypoint that holds the GIL for 2 s in pure Python (built-in routes must not wait for it)."""
import time

from mvi import service

service.add_parameter("threshold", 0.5)


@service.entrypoint
def spin() -> str:
    t = time.time()
    while time.time() - t < 2:
        pass
    return "done"


if __name__ == "__main__":
    service.run()
