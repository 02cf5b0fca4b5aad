"""Scenario: notify() from an entrypoint, message and severity from the request body (webhook sinks)."""
from mvi import service
from mvi.communication import Severity, notify


@service.entrypoint
def raise_notification(msg: str, severity: int = 0) -> str:
    notify(msg, Severity(severity))
    return "raised"


if __name__ == "__main__":
    service.run()
