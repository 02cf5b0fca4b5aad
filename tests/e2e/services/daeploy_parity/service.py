"""Scenario: what Daeploy's services rely on (issue 15): explicit nulls for arguments, notify() that never raises."""
from typing import Optional

from mvi import service
from mvi.communication import notify

service.add_parameter("quiet", 1, disable_http_logs=True)
service.add_parameter("loud", 1)


@service.entrypoint
def args(a: int, b: int = 5, c=None, d: Optional[int] = 7) -> dict:
    return {"a": a, "b": b, "c": c, "d": d}


@service.entrypoint
def loose_notify(timer: float, severity: int) -> str:
    notify("loose", severity, timer=timer, emails=[1, "ops@example.com"])
    return "sent"
