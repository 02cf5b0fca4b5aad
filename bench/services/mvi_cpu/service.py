"""Benchmark workload for isolated mode (issue 13): a CPU-bound pure-Python entrypoint, about 1 ms of work per
call on the machines of docs/performance.md. Threads of one interpreter serialise on the GIL here; worker
processes do not. Same logic as `spin` in ../fastapi_app.py."""

from mvi import service


@service.entrypoint
def spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
