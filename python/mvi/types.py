"""Types for entrypoint annotations: the `NDArray` marker and Daeploy's `ArrayInput`/`ArrayOutput`/`DataFrameInput`/
`DataFrameOutput`. Importing this module never imports numpy or pandas; the Daeploy classes are created on first
access (module `__getattr__`), so `from mvi.types import ArrayInput` needs numpy only when it is actually used.
Thread-safety: the lazy classes are created under a lock, once; NDArray markers are immutable."""

import copy
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

__all__ = ["NDArray", "ArrayInput", "ArrayOutput", "DataFrameInput", "DataFrameOutput"]

if TYPE_CHECKING:  # what type checkers see of the lazy classes below; at run time __getattr__ creates them
    import numpy
    import pandas

    class ArrayInput(numpy.ndarray):
        """A `numpy.ndarray` argument (Daeploy compatible)."""

    class ArrayOutput(numpy.ndarray):
        """A `numpy.ndarray` return value (Daeploy compatible)."""

    class DataFrameInput(pandas.DataFrame):
        """A `pandas.DataFrame` argument (Daeploy compatible)."""

    class DataFrameOutput(pandas.DataFrame):
        """A `pandas.DataFrame` return value (Daeploy compatible)."""


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
    dtype: Any
    shape: tuple[int | None, ...] | None

    def __init__(self, dtype: Any = None, shape: Iterable[int | None] | None = None) -> None:
        if shape is not None:
            if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
                raise TypeError(f"NDArray: shape must be a sequence of ints or None, got {shape!r}")
            shape = tuple(shape)
            for dim in shape:
                if dim is not None and (type(dim) is not int or dim < 0):
                    raise ValueError(f"NDArray: each shape entry must be an int >= 0 or None, got {dim!r}")
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "shape", shape)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("NDArray markers are immutable")

    def __repr__(self) -> str:
        return f"NDArray(dtype={self.dtype!r}, shape={self.shape!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NDArray) and (self.dtype, self.shape) == (other.dtype, other.shape)

    def __hash__(self) -> int:
        try:
            return hash((NDArray, self.dtype, self.shape))
        except TypeError:  # e.g. an unhashable dtype object
            return hash((NDArray, self.shape))


# ---- Daeploy-compatible classes, created on first access ----


def _daeploy_class(base, name, doc, schema, convert):
    """A subclass of `base` usable as a pydantic v1 field type (Daeploy's hooks): `convert` makes the value,
    `schema` is merged into the field's JSON Schema."""

    def get_validators(cls):
        yield cls.validate

    def modify_schema(cls, field_schema):
        field_schema.update(copy.deepcopy(schema))  # a fresh copy: pydantic may edit the schema it is given

    return type(base)(name, (base,), {
        "__doc__": doc,
        "__get_validators__": classmethod(get_validators),
        "__modify_schema__": classmethod(modify_schema),
        "validate": classmethod(lambda cls, value: convert(value)),
    })


def _array_classes():
    import numpy as np

    schema = {"type": "array", "items": {}}
    classes = {
        "ArrayInput": _daeploy_class(
            np.ndarray, "ArrayInput",
            "A `numpy.ndarray` argument (Daeploy compatible): the JSON array becomes `numpy.array(value)`.",
            schema, np.array),
        "ArrayOutput": _daeploy_class(
            np.ndarray, "ArrayOutput", "A `numpy.ndarray` return value (Daeploy compatible): answered as "
            "`value.tolist()`.", schema, lambda value: value.tolist()),
    }
    for cls in classes.values():
        cls._mvi_any_elements = True  # any JSON array, as Daeploy's np.array(value) took it (_describe_classes)
    return classes


def _dataframe_classes():
    import pandas as pd

    schema = {"type": "object", "additionalProperties": {}}
    return {
        "DataFrameInput": _daeploy_class(
            pd.DataFrame, "DataFrameInput", "A `pandas.DataFrame` argument (Daeploy compatible): the JSON object "
            "becomes `pandas.DataFrame.from_dict(value)`.", schema, pd.DataFrame.from_dict),
        "DataFrameOutput": _daeploy_class(
            pd.DataFrame, "DataFrameOutput", "A `pandas.DataFrame` return value (Daeploy compatible): answered as "
            "`value.to_dict()`.", schema, lambda value: value.to_dict()),
    }


_LAZY = {
    "ArrayInput": (_array_classes, "numpy"), "ArrayOutput": (_array_classes, "numpy"),
    "DataFrameInput": (_dataframe_classes, "pandas"), "DataFrameOutput": (_dataframe_classes, "pandas"),
}
_lazy_lock = threading.Lock()


def __getattr__(name: str) -> type:
    """The Daeploy classes, created on first access (they need numpy or pandas)."""
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


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
