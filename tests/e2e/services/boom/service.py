"""Scenario: uncaught exceptions become 500 (traceback only in the log); HTTPException sets the status."""
from mvi import HTTPException, service


@service.entrypoint
def explode(x: int) -> int:
    if x == 13:
        raise ValueError("unlucky number boom-7f3a")
    return x * 2


@service.entrypoint
def teapot() -> str:
    raise HTTPException(418, "teapot")


if __name__ == "__main__":
    service.run()
