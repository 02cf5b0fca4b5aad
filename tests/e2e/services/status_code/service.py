"""Scenario: an entrypoint answering with a custom success status."""
from mvi import service


@service.entrypoint(status_code=201)
def create(name: str) -> dict:
    return {"created": name}


if __name__ == "__main__":
    service.run()
