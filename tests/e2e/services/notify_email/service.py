"""Scenario: notify() with recipients and a repeat timer from the request body (SMTP sink)."""
from typing import Optional

from mvi import service
from mvi.communication import Severity, notify


@service.entrypoint
def raise_email(msg: str, severity: int = 0, emails: Optional[list[str]] = None, timer: float = 0) -> str:
    notify(msg, Severity(severity), emails=emails, timer=timer)
    return "raised"


if __name__ == "__main__":
    service.run()
