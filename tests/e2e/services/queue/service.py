"""Scenario: calls of very different lengths queued behind each other on one executor thread."""
import time

from mvi import HTTPException, service


@service.entrypoint
def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@service.entrypoint
def quick() -> str:
    return "quick"


@service.entrypoint
def no_content() -> None:
    raise HTTPException(204)


@service.entrypoint(status_code=204)
def accepted_quietly() -> str:
    return "this body is dropped"


if __name__ == "__main__":
    service.run()
