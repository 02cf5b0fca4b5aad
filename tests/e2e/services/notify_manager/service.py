"""Scenario: notify() with every Daeploy argument from the request body (Daeploy-style manager sink)."""
from typing import Optional

from mvi import service
from mvi.communication import Severity, notify


@service.entrypoint
def raise_notification(
    msg: str, severity: int = 0, dashboard: bool = True, emails: Optional[list[str]] = None, timer: int = 0
) -> str:
    notify(msg, Severity(severity), dashboard=dashboard, emails=emails, timer=timer)
    return "raised"


if __name__ == "__main__":
    service.run()
