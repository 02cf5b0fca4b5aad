"""Benchmark workload for state backends (issue 14): one parameter, changed on one replica and read on others."""

from mvi import service

service.add_parameter("limit", 0)


@service.entrypoint
def read() -> int:
    return service.get_parameter("limit")
