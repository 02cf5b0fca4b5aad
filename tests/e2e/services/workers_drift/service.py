"""Scenario: a service whose registration changes between imports (as when service.py is edited while the runtime
runs): each import counts itself in the file named by DRIFT_COUNTER and names its entrypoint after the count, so the
second worker registers a different service than the first and must be refused."""
import os

from mvi import service

path = os.environ["DRIFT_COUNTER"]
count = int(open(path).read()) + 1 if os.path.exists(path) else 1
with open(path, "w") as f:
    f.write(str(count))


def answer() -> int:
    return count


answer.__name__ = f"answer_{count}"
service.entrypoint(answer)
