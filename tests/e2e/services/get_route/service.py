"""Scenario: a GET entrypoint whose arguments come from the query string."""
from mvi import service


@service.entrypoint(method="GET")
def add(a: int, b: int) -> int:
    return a + b


if __name__ == "__main__":
    service.run()
