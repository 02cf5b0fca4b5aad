"""Type descriptions: annotations -> plain JSON-able dicts (read by the C++ validator), and a local lax coercer.
Thread-safety: pure functions over immutable tables; safe from any thread."""

import inspect
import re
import types
import typing

ANY = {"kind": "any"}


class UnsupportedType(TypeError):
    """An annotation (or a part of it) that has no type description yet."""

    def __init__(self, annotation, reason=None):
        self.annotation, self.reason = annotation, reason
        super().__init__(f"unsupported type annotation {type_name(annotation)}" + (f" ({reason})" if reason else ""))


def type_name(tp) -> str:
    if isinstance(tp, type):
        return tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp)


# ---- describing annotations: one function per kind, found through two dispatch tables ----


def _const(kind):
    return lambda tp, args: {"kind": kind}


def _list(tp, args):
    return {"kind": "list", "items": describe(args[0]) if args else dict(ANY)}


def _dict(tp, args):
    if not args:
        return {"kind": "dict", "values": dict(ANY)}
    if args[0] not in (str, typing.Any):
        # JSON object keys are always strings; anything else would need a conversion we do not define
        raise UnsupportedType(tp, "dict keys must be str")
    return {"kind": "dict", "values": describe(args[1])}


def _tuple(tp, args):
    if not args:
        return {"kind": "list", "items": dict(ANY)}
    if len(args) == 2 and args[1] is Ellipsis:
        return {"kind": "list", "items": describe(args[0])}
    if Ellipsis in args:
        raise UnsupportedType(tp, "'...' is only allowed as tuple[T, ...]")
    return {"kind": "tuple", "items": [describe(a) for a in args]}


def _union(tp, args):
    options = []
    for arg in args:
        desc = describe(arg)
        if desc["kind"] == "any":
            return dict(ANY)
        if desc not in options:
            options.append(desc)
    return options[0] if len(options) == 1 else {"kind": "union", "options": options}


def _literal(tp, args):
    for value in args:
        if type(value) not in (str, int, bool):
            raise UnsupportedType(tp, f"Literal values must be str, int or bool, not {value!r}")
    return {"kind": "literal", "values": list(args)}


def _annotated(tp, args):
    return describe(args[0])


_BY_TYPE = {
    typing.Any: _const("any"),
    object: _const("any"),
    inspect.Parameter.empty: _const("any"),
    str: _const("str"),
    int: _const("int"),
    float: _const("float"),
    bool: _const("bool"),
    None: _const("none"),
    type(None): _const("none"),
    list: _list,
    dict: _dict,
    tuple: _tuple,
}

_BY_ORIGIN = {
    list: _list,
    dict: _dict,
    tuple: _tuple,
    typing.Union: _union,
    types.UnionType: _union,
    typing.Literal: _literal,
    typing.Annotated: _annotated,
}


def _lookup(table, key):
    try:
        return table.get(key)
    except TypeError:  # unhashable annotation, e.g. `x: [int]`
        return None


def describe(tp) -> dict:
    """The type description of an annotation; raises UnsupportedType naming the offending part."""
    origin = typing.get_origin(tp)
    handler = _lookup(_BY_TYPE, tp) if origin is None else _lookup(_BY_ORIGIN, origin)
    if handler is None:
        raise UnsupportedType(tp)
    return handler(tp, typing.get_args(tp))


# ---- entrypoint signatures ----


def _resolve_hints(func, label):
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        # find the first annotation that fails on its own so the message can name the parameter
        raw = getattr(inspect.unwrap(func), "__annotations__", {})
        namespace = getattr(inspect.unwrap(func), "__globals__", {})
        for pname, ann in raw.items():
            if isinstance(ann, str):
                try:
                    eval(ann, namespace)  # the user's own annotation, evaluated as get_type_hints would
                except Exception as inner:
                    where = "return annotation" if pname == "return" else f"parameter {pname!r}"
                    raise TypeError(f"{label}: cannot resolve {where} annotation {ann!r}: {inner}") from exc
        raise TypeError(f"{label}: cannot resolve type annotations: {exc}") from exc


def _describe_for(label, where, tp):
    try:
        return describe(tp)
    except UnsupportedType as exc:
        part = type_name(exc.annotation)
        if exc.reason:
            detail = f" ({exc.reason})" if exc.annotation is tp else f" ({part}: {exc.reason})"
        else:
            detail = "" if exc.annotation is tp else f" ({part} is not supported)"
        raise TypeError(f"{label}: {where} has unsupported type annotation {type_name(tp)}{detail}") from None


def analyse(func, label: str):
    """(params, returns) of a callable; `label` (e.g. "entrypoint 'f'") prefixes every error."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{label}: cannot read its signature: {exc}") from None
    hints = _resolve_hints(func, label)
    params = []
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            star = "*" if p.kind == p.VAR_POSITIONAL else "**"
            raise TypeError(f"{label}: parameter '{star}{p.name}' is not supported; declare each argument by name")
        if p.kind == p.POSITIONAL_ONLY:
            # the runtime passes every argument by keyword
            raise TypeError(f"{label}: parameter {p.name!r} is positional-only; arguments are passed by name")
        desc = _describe_for(label, f"parameter {p.name!r}", hints.get(p.name, p.annotation))
        entry = {"name": p.name, "type": desc, "required": p.default is p.empty}
        if p.default is not p.empty:
            entry["default"] = p.default
        params.append(entry)
    returns = _describe_for(label, "return value", hints.get("return", signature.return_annotation))
    return params, returns


# ---- lax coercion (pydantic v2 lax mode), mirroring what the C++ validator accepts ----

_INT_STR = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


class Invalid(ValueError):
    """A value that does not fit a description; `loc` is the path inside the value."""

    def __init__(self, msg, loc=()):
        self.msg, self.loc = msg, tuple(loc)
        where = "".join(f"[{k!r}]" for k in self.loc)
        super().__init__(f"at {where}: {msg}" if where else msg)


def _mismatch(desc, value):
    return Invalid(f"expected {desc['kind']}, got {value!r}")


def _to_any(value, desc):
    return value


def _to_str(value, desc):
    if isinstance(value, str):
        return value
    raise _mismatch(desc, value)


def _to_int(value, desc):
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_STR.fullmatch(value.strip()):
        return int(value.strip().split(".")[0])
    raise _mismatch(desc, value)


def _to_float(value, desc):
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and "_" not in value):
            return float(value)
    except (ValueError, OverflowError):
        pass
    raise _mismatch(desc, value)


def _to_bool(value, desc):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _mismatch(desc, value)


def _to_none(value, desc):
    if value is None:
        return None
    raise _mismatch(desc, value)


def _item(key, value, desc):
    try:
        return coerce(value, desc)
    except Invalid as exc:
        raise Invalid(exc.msg, (key, *exc.loc)) from None


def _to_list(value, desc):
    if not isinstance(value, (list, tuple)):
        raise _mismatch(desc, value)
    return [_item(i, v, desc["items"]) for i, v in enumerate(value)]


def _to_dict(value, desc):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise Invalid(f"expected dict with str keys, got {value!r}")
    return {k: _item(k, v, desc["values"]) for k, v in value.items()}


def _to_tuple(value, desc):
    items = desc["items"]
    if not isinstance(value, (list, tuple)) or len(value) != len(items):
        raise Invalid(f"expected tuple of {len(items)} items, got {value!r}")
    return tuple(_item(i, v, d) for i, (v, d) in enumerate(zip(value, items)))


_EXACT = {"str": str, "int": int, "float": float, "bool": bool, "none": type(None), "list": list, "dict": dict}


def _to_union(value, desc):
    options = desc["options"]
    # smart mode: an option of exactly the value's type wins over an earlier lax match (True stays a bool)
    ordered = sorted(options, key=lambda d: _EXACT.get(d["kind"]) is not type(value))
    for option in ordered:
        try:
            return coerce(value, option)
        except Invalid:
            continue
    raise Invalid(f"expected {' | '.join(o['kind'] for o in options)}, got {value!r}")


def _to_literal(value, desc):
    # type must match too: Literal[1] does not accept True although 1 == True
    if any(type(v) is type(value) and v == value for v in desc["values"]):
        return value
    raise Invalid(f"expected one of {desc['values']!r}, got {value!r}")


_COERCERS = {
    "any": _to_any,
    "str": _to_str,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "none": _to_none,
    "list": _to_list,
    "dict": _to_dict,
    "tuple": _to_tuple,
    "union": _to_union,
    "literal": _to_literal,
}


def coerce(value, desc: dict):
    """`value` converted to fit `desc` the lax way; raises Invalid (a ValueError) otherwise."""
    return _COERCERS[desc["kind"]](value, desc)
