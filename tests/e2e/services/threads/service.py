"""Reports the scheduling policy of the thread that runs an entrypoint and of what it starts (test_threads.py)."""

import os
import subprocess
import sys
import threading

from mvi import service


@service.entrypoint
def policies() -> dict:
    seen = {}

    def child():
        seen["thread"] = os.sched_getscheduler(0)

    t = threading.Thread(target=child)
    t.start()
    t.join()
    probe = "import os; print(os.sched_getscheduler(0))"
    seen["process"] = int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    seen["entrypoint"] = os.sched_getscheduler(0)
    return seen


if __name__ == "__main__":
    service.run()
