"""Scenario: the service file fails while being imported."""
from mvi import service

service.add_parameter("never_served", 1)


@service.entrypoint
def unreachable() -> str:
    return "never"


raise RuntimeError("import-time failure marker 51c2")
