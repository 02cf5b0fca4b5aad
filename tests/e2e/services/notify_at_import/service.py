"""Scenario: a notification raised while the service file is still importing, before the first request."""
from mvi import service
from mvi.communication import Severity, notify

notify("model loaded at import", Severity.INFO)


@service.entrypoint
def ping() -> str:
    return "pong"


if __name__ == "__main__":
    service.run()
