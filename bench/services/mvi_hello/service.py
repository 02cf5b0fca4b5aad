"""Benchmark workload 1 (hello) and 4 (/health/live) for mvi-runtime: the seed service's hello(name: str) -> str,
a sync def, as MVI/Daeploy ran it. Same logic as `hello_sync`/`hello_async` in ../fastapi_app.py.
The seed's per-call `logger.info(...)` line is left out on both sides (see bench/README.md, "Same logic")."""

from mvi import service

service.add_parameter("greeting_phrase", "Hello")


@service.entrypoint
def hello(name: str) -> str:
    greeting_phrase = service.get_parameter("greeting_phrase")
    if name == "World":
        return "Greeting failed"
    return f"{greeting_phrase} {name}"


if __name__ == "__main__":
    service.run()
