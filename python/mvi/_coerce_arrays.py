"""Lax coercion to numpy arrays and pandas DataFrames, as the runtime builds them from JSON: nested lists of numbers
(cast to the declared dtype only when every value survives, shape checked) and the three table shapes. numpy and
pandas are imported only when a description asks for them. Pure functions."""

import warnings

from ._invalid import Invalid, short


def _cast(np, array, dtype):
    """`array` as `dtype`, lax: values must survive the conversion (1.0 -> 1 yes, 1.5 -> 1 no, 300 -> uint8 no)."""
    target = np.dtype(dtype)
    if array.dtype == target:
        return array
    if array.dtype.kind not in "biuf":
        raise Invalid("ndarray_type", f"expected an array of numbers, got dtype {array.dtype}")
    if np.can_cast(array.dtype, target, "safe"):
        return array.astype(target)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = array.astype(target)
        if target.kind == "f":
            ok = not (np.isinf(out) & ~np.isinf(array)).any()  # precision may go, magnitude may not
        else:
            ok = np.array_equal(out, array)
    if not ok:
        raise Invalid("ndarray_value", f"expected values that fit {target.name}, got {short(array)}")
    return out


def to_ndarray(value, desc, classes):
    import numpy as np

    dtype, shape = desc.get("dtype"), desc.get("shape")
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (list, tuple)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                array = np.array(value)
        except (ValueError, TypeError):
            raise Invalid("ndarray_shape",
                          f"expected rectangular nested arrays of numbers, got {short(value)}") from None
        # Daeploy's ArrayInput takes whatever numpy makes of the value (str, object arrays); others want numbers
        if array.dtype.kind not in "biuf" and desc.get("elements") != "any":
            raise Invalid("ndarray_type", f"expected nested arrays of numbers, got {short(value)}")
    else:
        raise Invalid("ndarray_type", f"expected ndarray (nested arrays of numbers), got {short(value)}")
    if dtype is not None:
        array = _cast(np, array, dtype)
    if shape is not None and (array.ndim != len(shape)
                              or any(d is not None and d != n for d, n in zip(shape, array.shape))):
        wanted = "(" + ", ".join("*" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
        raise Invalid("ndarray_shape", f"expected an array of shape {wanted}, got shape {tuple(array.shape)}")
    return array


_TABLE = "a table: {column: [values]}, {column: {index: value}} or [{column: value}]"


def _frame_from_columns(pd, value):
    length = None
    for key, column in value.items():
        if isinstance(column, dict):
            continue  # {index: value}
        if isinstance(column, (str, bytes)) or not hasattr(column, "__len__"):
            raise Invalid("dataframe_type", f"expected {_TABLE}, got column {short(column)}", (key,))
        if length is not None and len(column) != length:
            raise Invalid("dataframe_shape", "all columns must have the same length", (key,))
        length = len(column)
    try:
        return pd.DataFrame.from_dict(value)
    except Exception as exc:
        raise Invalid("dataframe_type", f"expected {_TABLE}: {exc}") from None


def _frame_from_records(pd, value):
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            raise Invalid("dataframe_type", f"expected {_TABLE}, got row {short(row)}", (i,))
    try:
        return pd.DataFrame.from_records(list(value)) if value else pd.DataFrame()
    except Exception as exc:
        raise Invalid("dataframe_type", f"expected {_TABLE}: {exc}") from None


def to_dataframe(value, desc, classes):
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        frame = value
    elif isinstance(value, dict):
        frame = _frame_from_columns(pd, value)
    elif isinstance(value, (list, tuple)):
        frame = _frame_from_records(pd, value)
    else:
        raise Invalid("dataframe_type", f"expected {_TABLE}, got {short(value)}")
    columns = desc.get("columns")
    if columns and not (isinstance(value, (list, tuple)) and not value):  # [] is an empty table of any columns
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise Invalid(None, None, errors=[((c,), "column required", "missing") for c in missing])
    return frame
