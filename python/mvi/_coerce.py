"""Lax coercion (pydantic v2 lax mode) of a value to a type description: the Python values the runtime builds from
JSON, for direct calls of entrypoints and for parameters under plain python. Mirrors src/schema/validator.cpp; the
shared cases are tests/cases/coercion.json. Values that already fit pass through unchanged.
Pure functions over immutable tables; safe from any thread."""

import datetime
import json
import math
import re
import sys
import uuid

from ._coerce_arrays import to_dataframe, to_ndarray
from ._coerce_formats import to_bytes, to_date, to_datetime, to_time, to_uuid
from ._invalid import Invalid, mismatch, short

_INT_STR = re.compile(r"[+-]?[0-9]+(?:\.0+)?")  # "5.0" is an int, "5." is not (as in the runtime)
_BLANKS = " \t\r\n"  # what the runtime trims around numbers and booleans; str.strip() would take Unicode spaces too
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


# ---- scalars ----


def _to_any(value, desc, classes):
    return value


def _to_str(value, desc, classes):
    if isinstance(value, str):
        return value
    raise mismatch(desc, value)


def _int_text(text):
    """The int a numeric string means ("5", " -3 ", "5.0"), or None."""
    text = text.strip(_BLANKS)
    return int(text.split(".")[0]) if _INT_STR.fullmatch(text) else None


def _to_int(value, desc, classes):
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        if not math.isfinite(value):
            raise Invalid("finite_number", f"expected a finite number, got {short(value)}")
        raise Invalid("int_from_float", f"expected int, got {short(value)}")
    if isinstance(value, str):
        number = _int_text(value)
        if number is not None:
            return number
        raise Invalid("int_parsing", f"expected int, got {short(value)}")
    raise mismatch(desc, value)


def _to_float(value, desc, classes):
    text = value.strip(_BLANKS) if isinstance(value, str) else None
    try:
        if isinstance(value, (int, float)):
            return float(value)
        # float() would also read "1_0", Unicode digits and spaces; the runtime's strtod reads none of them
        if text is not None and text.isascii() and "_" not in text:
            return float(text)
    except (ValueError, OverflowError):
        pass
    if text is not None:
        raise Invalid("float_parsing", f"expected float, got {short(value)}")
    raise mismatch(desc, value)


def _to_number(value, desc, classes):
    # "a number" (SPEC §2.1): an int stays an int and a float a float, as the runtime keeps them
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip(_BLANKS)
        if not any(c in text for c in ".eE"):
            number = _int_text(value)
            if number is not None:
                return number
        return _to_float(value, desc, classes)
    raise mismatch(desc, value)


def _to_bool(value, desc, classes):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip(_BLANKS).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    if isinstance(value, (int, float, str)):
        raise Invalid("bool_parsing", f"expected bool, got {short(value)}")
    raise mismatch(desc, value)


def _to_none(value, desc, classes):
    if value is None:
        return None
    raise mismatch(desc, value)


# ---- containers ----


def _coerce_all(items, classes):
    """[coerced value] for (key, value, desc) items; raises one Invalid listing every item that failed."""
    out, errors = [], []
    for key, value, desc in items:
        try:
            out.append(_COERCERS[desc["kind"]](value, desc, classes))
        except Invalid as exc:
            errors.extend(exc.inside(key))
    if errors:
        raise Invalid(None, None, errors=errors)
    return out


def _unchanged(before, after):
    return all(a is b for a, b in zip(before, after))


_CONTAINERS = {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}


def _to_list(value, desc, classes):
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise mismatch(desc, value)
    container = _CONTAINERS[desc.get("container", "list")]
    items = desc["items"]
    out = list(value) if items["kind"] == "any" else _coerce_all(((i, v, items) for i, v in enumerate(value)), classes)
    if type(value) is container and _unchanged(value, out):
        return value  # already the right thing: pass it through, do not copy
    if container is list:
        return out
    try:
        return container(out)
    except TypeError as exc:  # unhashable items for a set
        raise Invalid("set_item_not_hashable", f"expected hashable items, got {short(value)} ({exc})") from None


def _to_dict(value, desc, classes):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise Invalid("dict_type", f"expected dict with str keys, got {short(value)}")
    values = desc["values"]
    if values["kind"] == "any":
        return value if type(value) is dict else dict(value)
    out = _coerce_all(((k, v, values) for k, v in value.items()), classes)
    if type(value) is dict and _unchanged(value.values(), out):
        return value
    return dict(zip(value, out))


def _to_tuple(value, desc, classes):
    items = desc["items"]
    if not isinstance(value, (list, tuple)):
        raise Invalid("tuple_type", f"expected tuple of {len(items)} items, got {short(value)}")
    if len(value) > len(items):
        raise Invalid("too_long", f"expected tuple of {len(items)} items, got {short(value)}")
    try:
        out = _coerce_all(((i, v, d) for i, (v, d) in enumerate(zip(value, items))), classes)
    except Invalid as exc:
        errors = exc.errors
    else:
        errors = []
    # like pydantic, each missing position is its own error, after the items that were there
    errors += [((i,), "field required", "missing") for i in range(len(value), len(items))]
    if errors:
        raise Invalid(None, None, errors=errors)
    return value if type(value) is tuple and _unchanged(value, out) else tuple(out)


# ---- unions and literals ----

_SEQUENCES = (list, tuple, set, frozenset)
_SHAPES = {  # kind -> Python types whose values have that kind's JSON shape, or already are such a value
    "any": object, "str": str, "float": float, "number": (int, float), "bool": bool, "none": type(None),
    "dict": dict,
    "list": _SEQUENCES, "tuple": (list, tuple), "bytes": (str, bytes, bytearray, memoryview),
    "datetime": (str, datetime.datetime), "time": (str, datetime.time), "uuid": (str, uuid.UUID),
}


def _same_shape(value, desc, classes):
    """Whether `value` has the option's shape (unions try those options first, in order, like the runtime does with
    JSON shapes: "5" stays a str for int | str, True a bool for int | bool) or already is the option's type."""
    kind = desc["kind"]
    shape = _SHAPES.get(kind)
    if shape is not None:
        return isinstance(value, shape)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) or (isinstance(value, datetime.date) and not isinstance(value, datetime.datetime))
    if kind == "enum":
        return isinstance(value, classes[desc["ref"]])
    if kind == "object":
        return isinstance(value, dict) or (desc["construct"] != "typeddict" and isinstance(value, classes[desc["ref"]]))
    if kind == "ndarray":
        numpy = sys.modules.get("numpy")
        return isinstance(value, (list, tuple)) or (numpy is not None and isinstance(value, numpy.ndarray))
    if kind == "dataframe":
        pandas = sys.modules.get("pandas")
        return isinstance(value, (dict, list, tuple)) or (pandas is not None and isinstance(value, pandas.DataFrame))
    return False  # union, literal


def _to_union(value, desc, classes):
    options = desc["options"]
    if value is not None and len(options) == 2 and {"kind": "none"} in options:
        # Optional[T]: a non-null value must be a T, and T's own errors say why it is not
        return coerce(value, options[0] if options[1] == {"kind": "none"} else options[1], classes)
    # options of the value's own shape first, in order; then the others, laxly
    ordered = sorted(range(len(options)), key=lambda i: not _same_shape(value, options[i], classes))
    failed = {}
    for index in ordered:
        try:
            return coerce(value, options[index], classes)
        except Invalid as exc:
            failed[index] = exc
    # every option's own errors, in declaration order, under the option's name (as pydantic and the runtime do)
    errors = [e for i, option in enumerate(options) for e in failed[i].inside(display_name(option))]
    raise Invalid(None, None, errors=errors)


def _to_literal(value, desc, classes):
    # type must match too: Literal[1] does not accept True although 1 == True
    if any(type(v) is type(value) and v == value for v in desc["values"]):
        return value
    raise Invalid("literal_error", f"expected one of {desc['values']!r}, got {short(value)}")


# ---- Enums and classes ----


def _to_enum(value, desc, classes):
    cls = classes[desc["ref"]]
    if isinstance(value, cls):
        return value
    for allowed in desc["values"]:
        if type(allowed) is type(value) and allowed == value:
            return cls(allowed)
    number = _int_text(value) if isinstance(value, str) else None  # "2" for an int member (query strings)
    if number is not None:
        for allowed in desc["values"]:
            if type(allowed) is int and allowed == number:
                return cls(allowed)
    raise Invalid("enum", f"expected one of {desc['values']!r} ({desc['name']}), got {short(value)}")


def _constructor_errors(exc):
    """[(loc, msg, type)] from an exception raised by a class while building a value (pydantic lists several)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            found = [(tuple(e.get("loc", ())), str(e.get("msg", exc)), str(e.get("type", "value_error")))
                     for e in errors()]
            if found:
                return found
        except Exception:
            pass
    return [((), f"{type(exc).__name__}: {exc}", "value_error")]


_NOT_AN_OBJECT = {"typeddict": "dict_type", "dataclass": "dataclass_type", "pydantic": "model_type"}


def _to_object(value, desc, classes):
    typeddict = desc["construct"] == "typeddict"
    cls = classes[desc["ref"]]
    if not typeddict and isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise Invalid(_NOT_AN_OBJECT[desc["construct"]],
                      f"expected {desc['name']} or a dict of its fields, got {short(value)}")
    kwargs, errors = {}, []
    for field in desc["fields"]:
        name = field["name"]
        if name in value:
            try:
                kwargs[name] = coerce(value[name], field["type"], classes)
            except Invalid as exc:
                errors.extend(exc.inside(name))
        elif field["required"]:
            errors.append(((name,), "field required", "missing"))
    if errors:
        raise Invalid(None, None, errors=errors)
    if typeddict:
        return kwargs  # unknown keys are dropped, as the runtime does
    try:
        return cls(**kwargs)
    except Exception as exc:  # a validator, __post_init__ or pydantic refused it: the caller's fault, like HTTP 422
        raise Invalid(None, None, errors=_constructor_errors(exc)) from None


def display_name(desc):
    """The name the runtime gives an option in a union's error locations: "int", "list[int]", "int | None",
    "Literal["a","b"]", a class's name (src/schema/type_desc.cpp display_name)."""
    kind = desc["kind"]
    if kind == "list":
        container = desc.get("container", "list")
        return f"{container}[{display_name(desc['items'])}{', ...' if container == 'tuple' else ''}]"
    if kind == "dict":
        return f"dict[str, {display_name(desc['values'])}]"
    if kind == "tuple":
        return f"tuple[{', '.join(display_name(d) for d in desc['items'])}]"
    if kind == "union":
        return " | ".join(display_name(d) for d in desc["options"])
    if kind == "literal":
        return "Literal" + json.dumps(desc["values"], separators=(",", ":"), ensure_ascii=False)
    if kind in ("enum", "object"):
        return desc.get("name") or kind
    if kind == "ndarray":
        return f"ndarray[{desc['dtype']}]" if desc.get("dtype") else "ndarray"
    return {"dataframe": "DataFrame", "none": "None"}.get(kind, kind)


_COERCERS = {
    "any": _to_any,
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "number": _to_number,
    "bool": _to_bool,
    "none": _to_none,
    "list": _to_list,
    "dict": _to_dict,
    "tuple": _to_tuple,
    "union": _to_union,
    "literal": _to_literal,
    "bytes": to_bytes,
    "datetime": to_datetime,
    "date": to_date,
    "time": to_time,
    "uuid": to_uuid,
    "enum": _to_enum,
    "object": _to_object,
    "ndarray": to_ndarray,
    "dataframe": to_dataframe,
}


def coerce(value, desc: dict, classes=()):
    """`value` converted to fit `desc` the lax way, as the runtime builds it from JSON; values that already fit
    pass through unchanged. `classes` is the export's "classes" list (for enum and object descriptions).
    Raises Invalid (a ValueError) listing every problem found."""
    return _COERCERS[desc["kind"]](value, desc, classes)
