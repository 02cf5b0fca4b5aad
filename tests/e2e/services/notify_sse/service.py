"""Scenario: notifications raised on request, and parameters whose changes raise INFO notifications."""
from mvi import service
from mvi.communication import Severity, notify

service.add_parameter("threshold", 1.5)
service.add_parameter("label", "alpha")


@service.entrypoint
def alert(msg: str, severity: int = 0) -> str:
    """Raise notification `msg` with `severity` (0 INFO, 1 WARNING, 2 CRITICAL)."""
    notify(msg, Severity(severity))
    return "sent"


if __name__ == "__main__":
    service.run()
