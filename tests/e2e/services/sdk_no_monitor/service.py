"""Scenario: a service that never monitors anything (no store(), no monitor=True) must create no database."""
from mvi import service

service.add_parameter("level", 1)


@service.entrypoint
def hello(name: str) -> str:
    return f"Hello {name}"
