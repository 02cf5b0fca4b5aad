"""Benchmark workload 2 for mvi-runtime: a JSON array of 100,000 floats arrives as a numpy.ndarray, the answer is
its sum. Same logic as `total_list`/`total_raw` in ../fastapi_app.py (which get a list and use the builtin sum)."""

import numpy as np

from mvi import service


@service.entrypoint
def total(values: np.ndarray) -> float:
    return float(values.sum())


if __name__ == "__main__":
    service.run()
