"""Types for entrypoint annotations: the `NDArray` marker and Daeploy's `ArrayInput`/`ArrayOutput`/`DataFrameInput`/
`DataFrameOutput`. Importing this module never imports numpy or pandas; the Daeploy classes are created on first
access (module `__getattr__`), so `from mvi.types import ArrayInput` needs numpy only when it is actually used.
Thread-safety: the lazy classes are created under a lock, once; NDArray markers are immutable."""

import threading

__all__ = ["NDArray", "ArrayInput", "ArrayOutput", "DataFrameInput", "DataFrameOutput"]


class NDArray:
    """Annotation marker for `numpy.ndarray` arguments with a fixed dtype and/or shape:

        from typing import Annotated
        import numpy as np
        from mvi.types import NDArray

        def predict(x: Annotated[np.ndarray, NDArray(dtype="float32", shape=(None, 3))]): ...

    `dtype`: anything `numpy.dtype()` accepts ("float32", np.int64, float, bool) of a bool, integer or float type;
    None = whatever numpy infers. `shape`: a sequence of ints (fixed size) or None (any size), one per dimension;
    None = any number of dimensions. Both are checked when the annotation is analysed.
    """

    __slots__ = ("dtype", "shape")

    def __init__(self, dtype=None, shape=None):
        if shape is not None:
            if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
                raise TypeError(f"NDArray: shape must be a sequence of ints or None, got {shape!r}")
            shape = tuple(shape)
            for dim in shape:
                if dim is not None and (type(dim) is not int or dim < 0):
                    raise ValueError(f"NDArray: each shape entry must be an int >= 0 or None, got {dim!r}")
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "shape", shape)

    def __setattr__(self, name, value):
        raise AttributeError("NDArray markers are immutable")

    def __repr__(self):
        return f"NDArray(dtype={self.dtype!r}, shape={self.shape!r})"

    def __eq__(self, other):
        return isinstance(other, NDArray) and (self.dtype, self.shape) == (other.dtype, other.shape)

    def __hash__(self):
        try:
            return hash((NDArray, self.dtype, self.shape))
        except TypeError:  # e.g. an unhashable dtype object
            return hash((NDArray, self.shape))


# ---- Daeploy-compatible classes, created on first access ----


def _array_classes():
    import numpy as np

    class ArrayInput(np.ndarray):
        """A `numpy.ndarray` argument (Daeploy compatible): the JSON array becomes `numpy.array(value)`."""

        @classmethod
        def __get_validators__(cls):  # pydantic v1, for use inside users' own models
            yield cls.validate

        @classmethod
        def __modify_schema__(cls, field_schema):
            field_schema.update(type="array", items={})

        @classmethod
        def validate(cls, value):
            return np.array(value)

    class ArrayOutput(np.ndarray):
        """A `numpy.ndarray` return value (Daeploy compatible): answered as `value.tolist()`."""

        @classmethod
        def __get_validators__(cls):
            yield cls.validate

        @classmethod
        def __modify_schema__(cls, field_schema):
            field_schema.update(type="array", items={})

        @classmethod
        def validate(cls, value):
            return value.tolist()

    return {"ArrayInput": ArrayInput, "ArrayOutput": ArrayOutput}


def _dataframe_classes():
    import pandas as pd

    class DataFrameInput(pd.DataFrame):
        """A `pandas.DataFrame` argument (Daeploy compatible): the JSON object becomes
        `pandas.DataFrame.from_dict(value)`."""

        @classmethod
        def __get_validators__(cls):
            yield cls.validate

        @classmethod
        def __modify_schema__(cls, field_schema):
            field_schema.update(type="object", additionalProperties={})

        @classmethod
        def validate(cls, value):
            return pd.DataFrame.from_dict(value)

    class DataFrameOutput(pd.DataFrame):
        """A `pandas.DataFrame` return value (Daeploy compatible): answered as `value.to_dict()`."""

        @classmethod
        def __get_validators__(cls):
            yield cls.validate

        @classmethod
        def __modify_schema__(cls, field_schema):
            field_schema.update(type="object", additionalProperties={})

        @classmethod
        def validate(cls, value):
            return value.to_dict()

    return {"DataFrameInput": DataFrameInput, "DataFrameOutput": DataFrameOutput}


_LAZY = {
    "ArrayInput": (_array_classes, "numpy"), "ArrayOutput": (_array_classes, "numpy"),
    "DataFrameInput": (_dataframe_classes, "pandas"), "DataFrameOutput": (_dataframe_classes, "pandas"),
}
_lazy_lock = threading.Lock()


def __getattr__(name):
    entry = _LAZY.get(name)
    if entry is None:
        raise AttributeError(f"module 'mvi.types' has no attribute {name!r}")
    factory, package = entry
    with _lazy_lock:
        if name not in globals():
            try:
                classes = factory()
            except ImportError as exc:
                raise ImportError(f"mvi.types.{name} needs {package}: {exc}", name=package) from exc
            for cls_name, cls in classes.items():
                cls.__module__, cls.__qualname__ = __name__, cls_name
                globals()[cls_name] = cls
    return globals()[name]


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
