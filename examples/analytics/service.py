"""Typed inputs end to end: numpy arrays, pandas DataFrames, dataclasses, Enums and datetimes."""
import datetime as dt
import enum
import logging
from dataclasses import dataclass, field
from typing import Annotated, Optional

import numpy as np
import pandas as pd

from mvi import service
from mvi.types import NDArray

logger = logging.getLogger(__name__)

service.add_parameter("scale", 1.0, description="Multiplies every statistic")


class Aggregate(str, enum.Enum):
    MEAN = "mean"
    SUM = "sum"
    MAX = "max"


@dataclass
class Window:
    start: dt.datetime
    end: dt.datetime
    label: Optional[str] = None
    tags: list[str] = field(default_factory=list)


@service.entrypoint
def summarize(values: np.ndarray, how: Aggregate = Aggregate.MEAN) -> float:
    """Aggregate a 1-D array of numbers."""
    scale = service.get_parameter("scale")
    result = {"mean": np.mean, "sum": np.sum, "max": np.max}[how.value](values)
    return float(result) * scale


@service.entrypoint
def normalize(points: Annotated[np.ndarray, NDArray(dtype="float64", shape=(None, 2))]) -> np.ndarray:
    """Scale each column of an (n, 2) array to zero mean and unit variance."""
    std = points.std(axis=0)
    std[std == 0] = 1.0
    return (points - points.mean(axis=0)) / std


@service.entrypoint
def describe_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per-column count, mean and max of a table."""
    return table.describe().loc[["count", "mean", "max"]]


@service.entrypoint
def window_length(window: Window) -> dict:
    """How long a time window is, in seconds."""
    seconds = (window.end - window.start).total_seconds()
    return {"label": window.label, "seconds": seconds, "tags": window.tags, "end": window.end}


if __name__ == "__main__":
    service.run()
