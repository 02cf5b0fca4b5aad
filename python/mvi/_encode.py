"""Return values -> JSON-able Python data. The runtime converts None/bool/int/float/str/list/tuple/dict/set itself
(src/python/convert.cpp) and calls `to_jsonable` for any other object; the result here is always plain data
(dict with str/int/float/bool/None keys, list, str, int, float, bool, None), NaN and ±Inf already None.
numpy, pandas and pydantic are never imported here: a value of theirs means the module is already loaded.
Thread-safety: pure functions; safe from any thread (with the GIL, as all Python code)."""

import base64
import dataclasses
import datetime
import decimal
import enum
import json
import math
import pathlib
import sys
import uuid

_MAX_DEPTH = 256  # as the runtime's own converter: deeper means circular, in practice


def to_jsonable(obj):
    """Plain JSON-able data for `obj`; TypeError("Object of type X is not JSON serializable") when unknown."""
    return _plain(obj, 0)


def _plain(obj, depth):
    if depth > _MAX_DEPTH:
        raise ValueError("value is nested too deeply (or is circular) to encode as JSON")
    kind = type(obj)
    if kind is str or kind is int or kind is bool or obj is None:
        return obj
    if kind is float:
        return obj if math.isfinite(obj) else None
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return [_plain(item, depth + 1) for item in obj]
    if kind is dict:
        return {_key(k): _plain(v, depth + 1) for k, v in obj.items()}
    encoder = _BY_TYPE.get(kind)
    if encoder is None:
        encoder = _find_encoder(obj)
    return encoder(obj, depth)


def _key(key):
    if isinstance(key, str):
        return str(key)
    if key is None or type(key) in (int, float, bool):
        return key  # the runtime writes them as "1", "1.5", "true", "null"
    plain = _plain(key, 0)
    return plain if isinstance(plain, str) else json.dumps(plain) if isinstance(plain, (list, dict)) else str(plain)


# ---- encoders: (obj, depth) -> plain data ----


def _iso(obj, depth):
    return obj.isoformat()


def _datetime(obj, depth):
    pandas = sys.modules.get("pandas")
    if pandas is not None and obj is pandas.NaT:  # NaT is a datetime subclass that means "missing"
        return None
    return obj.isoformat()


def _timedelta(obj, depth):
    pandas = sys.modules.get("pandas")
    if pandas is not None and obj is pandas.NaT:
        return None
    return obj.total_seconds()


def _decimal(obj, depth):
    return float(obj) if obj.is_finite() else str(obj)


def _bytes(obj, depth):
    return base64.b64encode(obj.tobytes() if isinstance(obj, memoryview) else bytes(obj)).decode("ascii")


def _to_str(obj, depth):
    return str(obj)


def _enum(obj, depth):
    return _plain(obj.value, depth + 1)


def _dataclass(obj, depth):
    return {f.name: _plain(getattr(obj, f.name), depth + 1) for f in dataclasses.fields(obj)}


def _scalar_float(value):
    return value if math.isfinite(value) else None


# -- numpy --


def _ndarray(obj, depth):
    np = sys.modules["numpy"]
    kind = obj.dtype.kind
    if kind in "biu":
        return obj.tolist()  # Python ints and bools only
    if kind == "f":
        if np.isfinite(obj).all():
            return obj.tolist()
        return _nan_to_none(obj.tolist())
    if kind == "M":  # datetime64: ISO strings, NaT -> None
        return _plain(obj.astype("datetime64[us]").tolist(), depth + 1)
    if kind == "m":  # timedelta64: seconds
        return _plain(obj.astype("timedelta64[us]").tolist(), depth + 1)
    return _plain(obj.tolist(), depth + 1)  # object, str, complex (-> TypeError), ...


def _nan_to_none(items):
    if isinstance(items, list):
        return [_nan_to_none(item) for item in items]
    return items if math.isfinite(items) else None


def _numpy_scalar(obj, depth):
    kind = obj.dtype.kind
    if kind == "c":
        _unknown(obj, depth)  # named after the numpy type, not the complex .item() would give
    if kind == "M":
        obj = obj.astype("datetime64[us]")
    elif kind == "m":
        obj = obj.astype("timedelta64[us]")
    return _plain(obj.item(), depth + 1)


# -- pandas --


def _dataframe(obj, depth):
    # Daeploy's DataFrameOutput form, value.to_dict(): {column: {index: value}}, keys as strings
    return {_index_key(column): _series(series, depth + 1) for column, series in obj.items()}


def _series(obj, depth):
    return {_index_key(index): _cell(value, depth + 1) for index, value in obj.items()}


def _index_key(key):
    plain = _plain(key, 0)
    return plain if isinstance(plain, str) else json.dumps(plain)


def _cell(value, depth):
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str or kind is int or kind is bool or value is None:
        return value
    pandas = sys.modules["pandas"]
    if value is pandas.NA or value is pandas.NaT:
        return None
    return _plain(value, depth)


# -- pydantic --


def _pydantic(obj, depth):
    if hasattr(obj, "model_dump"):  # v2
        try:
            return _plain(obj.model_dump(mode="json", by_alias=True), depth + 1)
        except Exception:  # a field type pydantic cannot serialise (numpy, ...): ours can
            return _plain(obj.model_dump(by_alias=True), depth + 1)
    try:  # v1
        return _plain(json.loads(obj.json(by_alias=True)), depth + 1)
    except TypeError:
        return _plain(obj.dict(by_alias=True), depth + 1)


def _unknown(obj, depth):
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_BY_TYPE = {
    datetime.datetime: _datetime,
    datetime.date: _iso,
    datetime.time: _iso,
    datetime.timedelta: _timedelta,
    uuid.UUID: _to_str,
    decimal.Decimal: _decimal,
    bytes: _bytes,
    bytearray: _bytes,
    memoryview: _bytes,
}

# classes of optional packages, checked only when the package is already imported: (module, class, encoder)
_BY_MODULE_CLASS = [
    ("numpy", "ndarray", _ndarray),
    ("numpy", "generic", _numpy_scalar),
    ("pandas", "DataFrame", _dataframe),
    ("pandas", "Series", _series),
]


def _find_encoder(obj):
    """The encoder for a type not in _BY_TYPE (subclasses, numpy, pandas, pydantic, dataclasses)."""
    for module, attr, encoder in _BY_MODULE_CLASS:
        mod = sys.modules.get(module)
        if mod is not None and isinstance(obj, getattr(mod, attr)):
            return encoder
    pandas = sys.modules.get("pandas")
    if pandas is not None and obj is pandas.NA:
        return lambda obj, depth: None
    for module in ("pydantic", "pydantic.v1"):
        pydantic = sys.modules.get(module)
        base = getattr(pydantic, "BaseModel", None)
        if base is not None and isinstance(obj, base):
            return _pydantic
    if isinstance(obj, enum.Enum):
        return _enum
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _dataclass
    if isinstance(obj, pathlib.PurePath):
        return _to_str
    if isinstance(obj, float):  # float subclasses the runtime did not take (it takes most)
        return lambda obj, depth: _scalar_float(float(obj))
    for kind, encoder in _BY_TYPE.items():  # subclasses: pandas.Timestamp, pandas.Timedelta, ...
        if isinstance(obj, kind):
            return encoder
    if isinstance(obj, (str, int)):
        return lambda obj, depth: (str if isinstance(obj, str) else int)(obj)
    if isinstance(obj, (list, tuple, set, frozenset)):
        return lambda obj, depth: [_plain(item, depth + 1) for item in obj]
    if isinstance(obj, dict):
        return lambda obj, depth: {_key(k): _plain(v, depth + 1) for k, v in obj.items()}
    return _unknown
