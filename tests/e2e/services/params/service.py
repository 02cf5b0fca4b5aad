"""Scenario: parameters of several types, one of them not exposed (read-only over HTTP)."""
from mvi import service

service.add_parameter("threshold", 0.5)
service.add_parameter("count", 3)
service.add_parameter("label", "alpha")
service.add_parameter("enabled", True)
service.add_parameter("secret_level", 7, expose=False)


@service.entrypoint
def current(name: str):
    """Return the value the Python side sees for parameter `name`."""
    return service.get_parameter(name)


if __name__ == "__main__":
    service.run()
