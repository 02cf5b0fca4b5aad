"""Type descriptions: annotations -> plain JSON-able dicts (read by the C++ validator), and a local lax coercer
that builds the same Python values the runtime builds. The contract is docs/dev/type-descriptions.md.
numpy, pandas and pydantic are never imported here unless an annotation or a description involves them.
Thread-safety: pure functions over immutable tables; a Context belongs to one analysis at a time."""

import base64
import copy
import dataclasses
import datetime
import enum
import inspect
import math
import re
import sys
import types
import typing
import uuid
import warnings

from .types import NDArray

ANY = {"kind": "any"}


class UnsupportedType(TypeError):
    """An annotation (or a part of it) that has no type description."""

    def __init__(self, annotation, reason=None):
        self.annotation, self.reason = annotation, reason
        self.fields = []  # ["Outer.inner", "Inner.x"]: where inside classes the annotation sits
        super().__init__(f"unsupported type annotation {type_name(annotation)}" + (f" ({reason})" if reason else ""))


class _Recursive(UnsupportedType):
    """A class that contains itself: never described as `any`, always an error."""


def type_name(tp) -> str:
    if isinstance(tp, type):
        return tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp)


class Context:
    """What one analysis collects: the classes met (the export's "classes"; `ref` indexes this list, identity
    decides), their descriptions, and the chain of classes being described (to reject recursive types)."""

    def __init__(self, classes=()):
        self.classes = list(classes)
        self._done = {}  # id(cls) -> description; cls is kept alive by self.classes
        self._path = []  # [[cls, field name]] of the classes being described, outermost first

    def _ref(self, cls):
        for index, known in enumerate(self.classes):
            if known is cls:
                return index
        self.classes.append(cls)
        return len(self.classes) - 1

    def class_desc(self, cls, build):
        """The description of class `cls`, built once per context by `build(ref)`."""
        for index, (active, _) in enumerate(self._path):
            if active is cls:
                chain = [f"{c.__name__}.{f}" for c, f in self._path[index:]] + [cls.__name__]
                raise _Recursive(cls, f"recursive type {' -> '.join(chain)} is not supported")
        done = self._done.get(id(cls))
        if done is not None:
            return copy.deepcopy(done)
        mark = len(self.classes)
        ref = self._ref(cls)
        self._path.append([cls, None])
        try:
            desc = build(ref)
        except BaseException:
            for added in self.classes[mark:]:  # a failed class leaves no trace, nor do the classes it met
                self._done.pop(id(added), None)
            del self.classes[mark:]
            raise
        finally:
            self._path.pop()
        self._done[id(cls)] = desc
        return copy.deepcopy(desc)

    def field(self, cls, name, annotation):
        """The description of one field of the class being described; errors say which field."""
        self._path[-1][1] = name
        try:
            return describe(annotation, self)
        except _Recursive:
            raise
        except UnsupportedType as exc:
            exc.fields.insert(0, f"{cls.__name__}.{name}")
            raise


# ---- describing annotations: one function per kind, found through dispatch tables ----


def _const(kind):
    return lambda tp, args, ctx: {"kind": kind}


_UNHASHABLE_KINDS = {"dict", "ndarray", "dataframe"}


def _sequence(tp, item, container, ctx):
    items = dict(ANY) if item is None else describe(item, ctx)
    desc = {"kind": "list", "items": items}
    if container != "list":
        desc["container"] = container
    if container in ("set", "frozenset"):
        unhashable = items["kind"] in _UNHASHABLE_KINDS or (
            items["kind"] == "list" and items.get("container", "list") in ("list", "set")) or (
            items["kind"] == "object" and items["construct"] == "typeddict")
        if unhashable:
            raise UnsupportedType(tp, f"{container} items must be hashable, not {items['kind']}")
    return desc


def _container(container):
    return lambda tp, args, ctx: _sequence(tp, args[0] if args else None, container, ctx)


def _dict(tp, args, ctx):
    if not args:
        return {"kind": "dict", "values": dict(ANY)}
    if args[0] not in (str, typing.Any):
        # JSON object keys are always strings; anything else would need a conversion we do not define
        raise UnsupportedType(tp, "dict keys must be str")
    return {"kind": "dict", "values": describe(args[1], ctx)}


def _tuple(tp, args, ctx):
    if not args:
        return _sequence(tp, None, "tuple", ctx)
    if len(args) == 2 and args[1] is Ellipsis:
        return _sequence(tp, args[0], "tuple", ctx)
    if Ellipsis in args:
        raise UnsupportedType(tp, "'...' is only allowed as tuple[T, ...]")
    return {"kind": "tuple", "items": [describe(a, ctx) for a in args]}


def _union(tp, args, ctx):
    options = []
    for arg in args:
        desc = describe(arg, ctx)
        if desc["kind"] == "any":
            return dict(ANY)
        if desc not in options:
            options.append(desc)
    return options[0] if len(options) == 1 else {"kind": "union", "options": options}


def _literal(tp, args, ctx):
    for value in args:
        if type(value) not in (str, int, bool):
            raise UnsupportedType(tp, f"Literal values must be str, int or bool, not {value!r}")
    return {"kind": "literal", "values": list(args)}


def _annotated(tp, args, ctx):
    desc = describe(args[0], ctx)
    for meta in args[1:]:
        if isinstance(meta, NDArray):
            if desc["kind"] != "ndarray":
                raise UnsupportedType(tp, "NDArray(...) applies to numpy.ndarray annotations only")
            if meta.dtype is not None:
                desc["dtype"] = _dtype_name(tp, meta.dtype)
            if meta.shape is not None:
                desc["shape"] = list(meta.shape)
    return desc  # any other metadata is ignored


# -- classes: Enum, dataclass, TypedDict, pydantic model --


def _class_doc(cls):
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return None
    if dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}("):
        return None  # the signature text @dataclass writes when a class has no docstring
    return inspect.cleandoc(doc)


def _object(cls, ref, construct, fields):
    desc = {"kind": "object", "name": cls.__name__, "ref": ref, "construct": construct, "fields": fields}
    doc = _class_doc(cls)
    if doc is not None:
        desc["description"] = doc
    return desc


def _class_hints(cls):
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:
        raise UnsupportedType(cls, f"cannot resolve its annotations: {exc}") from None


def _enum(tp, args, ctx):
    def build(ref):
        values = []
        for member in tp:
            value = member.value
            if type(value) not in (str, int, float, bool) or (type(value) is float and not math.isfinite(value)):
                raise UnsupportedType(tp, f"Enum member values must be str, int, float or bool, "
                                          f"not {member.name} = {value!r}")
            values.append(value)
        if not values:
            raise UnsupportedType(tp, "an Enum needs at least one member")
        return {"kind": "enum", "name": tp.__name__, "ref": ref, "values": values}

    return ctx.class_desc(tp, build)


def _dataclass(tp, args, ctx):
    def build(ref):
        hints = _class_hints(tp)
        fields = []
        for f in dataclasses.fields(tp):
            if not f.init:
                continue  # not an __init__ argument, so not part of the input
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            fields.append({"name": f.name, "type": ctx.field(tp, f.name, hints.get(f.name, f.type)),
                           "required": required})
        return _object(tp, ref, "dataclass", fields)

    return ctx.class_desc(tp, build)


def _qualifier(annotation):
    """("required" | "not_required" | None, the annotation without Required[]/NotRequired[])."""
    origin = typing.get_origin(annotation)
    if origin is not None:
        name = getattr(origin, "_name", None) or getattr(origin, "__name__", None)
        if name in ("Required", "NotRequired") and getattr(origin, "__module__", "") in ("typing", "typing_extensions"):
            return ("required" if name == "Required" else "not_required"), typing.get_args(annotation)[0]
    return None, annotation


def _typeddict(tp, args, ctx):
    def build(ref):
        hints = _class_hints(tp)
        required_keys = getattr(tp, "__required_keys__", frozenset(hints))
        fields = []
        for name, annotation in hints.items():
            qualifier, annotation = _qualifier(annotation)
            required = qualifier == "required" if qualifier else name in required_keys
            fields.append({"name": name, "type": ctx.field(tp, name, annotation), "required": required})
        return _object(tp, ref, "typeddict", fields)

    return ctx.class_desc(tp, build)


def _nullable(desc):
    if desc["kind"] in ("any", "none"):
        return desc
    if desc["kind"] == "union":
        if {"kind": "none"} not in desc["options"]:
            desc["options"].append({"kind": "none"})
        return desc
    return {"kind": "union", "options": [desc, {"kind": "none"}]}


def _model_field(ctx, cls, name, annotation):
    # pydantic validates every field again when the model is built, so a field type mvi cannot describe
    # (EmailStr, constr, conint, Decimal, ...) is described as `any` and left to pydantic
    try:
        return ctx.field(cls, name, annotation)
    except _Recursive:
        raise
    except UnsupportedType:
        return dict(ANY)


def _pydantic(tp, args, ctx):
    def build(ref):
        fields = []
        if _pydantic_version(tp) == 2:
            for name, info in tp.model_fields.items():
                desc = _model_field(ctx, tp, name, info.annotation)
                alias = getattr(info, "validation_alias", None)  # AliasPath/AliasChoices: not a key we can name
                json_name = alias if isinstance(alias, str) else info.alias or name
                fields.append({"name": json_name, "type": desc, "required": bool(info.is_required())})
        else:
            try:  # resolved forward references (field.annotation keeps them as written)
                hints = typing.get_type_hints(tp, include_extras=True)
            except Exception:
                hints = {}
            for name, field in tp.__fields__.items():
                annotation = hints.get(name) or getattr(field, "annotation", None) or field.outer_type_
                desc = _model_field(ctx, tp, name, annotation)
                if getattr(field, "allow_none", False):
                    desc = _nullable(desc)  # v1: `x: int = None` accepts null
                fields.append({"name": field.alias or name, "type": desc, "required": field.required is True})
        return _object(tp, ref, "pydantic", fields)

    return ctx.class_desc(tp, build)


# -- numpy and pandas --

_NDARRAY_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                             "float16", "float32", "float64"})


def _dtype_name(tp, dtype):
    import numpy as np

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            name = np.dtype(dtype).name
    except (TypeError, ValueError):
        raise UnsupportedType(tp, f"unknown numpy dtype {dtype!r}") from None
    if name not in _NDARRAY_DTYPES:
        raise UnsupportedType(tp, f"ndarray dtype {name} is not supported; use bool, int8-64, uint8-64 or float16-64")
    return name


def _ndarray(tp, args, ctx):
    dtype = None
    if len(args) == 2:  # numpy.typing.NDArray[np.float64] == numpy.ndarray[Any, numpy.dtype[numpy.float64]]
        import numpy as np

        scalar = typing.get_args(args[1])
        scalar = scalar[0] if len(scalar) == 1 else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            concrete = isinstance(scalar, type) and issubclass(scalar, np.generic) and np.dtype(scalar).type is scalar
        if concrete:  # abstract ones (np.floating, a TypeVar) leave the dtype open
            dtype = _dtype_name(tp, scalar)
    return {"kind": "ndarray", "dtype": dtype, "shape": None}


def _dataframe(tp, args, ctx):
    return {"kind": "dataframe", "columns": None}


# -- class predicates (only modules already imported can have made the class) --


def _pydantic_version(tp):
    if not isinstance(tp, type) or "pydantic" not in sys.modules:
        return None
    if isinstance(getattr(tp, "model_fields", None), dict) and hasattr(tp, "model_validate"):
        return 2
    if isinstance(getattr(tp, "__fields__", None), dict) and hasattr(tp, "parse_obj"):
        return 1
    return None


def _is_typeddict(tp):
    if typing.is_typeddict(tp):
        return True
    extensions = sys.modules.get("typing_extensions")
    return extensions is not None and extensions.is_typeddict(tp)


def _subclass_of(module, attr):
    def check(tp):
        mod = sys.modules.get(module)
        return mod is not None and isinstance(tp, type) and issubclass(tp, getattr(mod, attr))

    return check


_is_ndarray = _subclass_of("numpy", "ndarray")

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
    bytes: _const("bytes"),
    datetime.datetime: _const("datetime"),
    datetime.date: _const("date"),
    datetime.time: _const("time"),
    uuid.UUID: _const("uuid"),
    list: _container("list"),
    set: _container("set"),
    frozenset: _container("frozenset"),
    dict: _dict,
    tuple: _tuple,
}

_BY_ORIGIN = {
    list: _container("list"),
    set: _container("set"),
    frozenset: _container("frozenset"),
    dict: _dict,
    tuple: _tuple,
    typing.Union: _union,
    types.UnionType: _union,
    typing.Literal: _literal,
    typing.Annotated: _annotated,
}

# classes found by what they are rather than by identity, tried in order
_BY_CLASS = [
    (lambda tp: isinstance(tp, type) and issubclass(tp, enum.Enum), _enum),
    (lambda tp: _pydantic_version(tp) is not None, _pydantic),
    (lambda tp: isinstance(tp, type) and dataclasses.is_dataclass(tp), _dataclass),
    (_is_typeddict, _typeddict),
    (_is_ndarray, _ndarray),  # also mvi.types.ArrayInput / ArrayOutput
    (_subclass_of("pandas", "DataFrame"), _dataframe),  # also mvi.types.DataFrameInput / DataFrameOutput
]

# generic aliases whose origin is such a class: only numpy.typing.NDArray[...]
_BY_GENERIC_CLASS = [(_is_ndarray, _ndarray)]


def _lookup(table, key):
    try:
        return table.get(key)
    except TypeError:  # unhashable annotation, e.g. `x: [int]`
        return None


def _match(table, tp):
    for predicate, handler in table:
        if predicate(tp):
            return handler
    return None


def describe(tp, ctx=None) -> dict:
    """The type description of an annotation; raises UnsupportedType naming the offending part.
    Classes met are collected in `ctx` (a throwaway Context when None)."""
    if ctx is None:
        ctx = Context()
    origin = typing.get_origin(tp)
    if origin is None:
        handler = _lookup(_BY_TYPE, tp) or _match(_BY_CLASS, tp)
    else:
        handler = _lookup(_BY_ORIGIN, origin) or _match(_BY_GENERIC_CLASS, origin)
    if handler is None:
        raise UnsupportedType(tp)
    return handler(tp, typing.get_args(tp), ctx)


_JSON_KINDS = frozenset({"any", "str", "int", "float", "bool", "none", "list", "tuple", "dict", "union", "literal"})


def describe_json(tp) -> dict:
    """A description whose values are plain JSON (for parameters, which the runtime stores as JSON):
    tuple[T, ...] is described as a list; sets, datetimes, classes, arrays raise UnsupportedType."""

    def check(desc):
        if desc["kind"] not in _JSON_KINDS or desc.get("container") in ("set", "frozenset"):
            raise UnsupportedType(tp)
        desc.pop("container", None)
        for key in ("items", "values", "options"):
            inner = desc.get(key)
            if isinstance(inner, dict):
                check(inner)
            elif isinstance(inner, list) and key != "values":
                for item in inner:
                    check(item)

    desc = describe(tp)
    check(desc)
    return desc


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


def _describe_for(label, where, tp, ctx):
    try:
        return describe(tp, ctx)
    except UnsupportedType as exc:
        part = type_name(exc.annotation)
        inside = f"field {' -> '.join(exc.fields)}: " if exc.fields else ""
        if exc.reason:
            detail = f" ({exc.reason})" if exc.annotation is tp else f" ({inside}{part}: {exc.reason})"
        else:
            detail = "" if exc.annotation is tp else f" ({inside}{part} is not supported)"
        raise TypeError(f"{label}: {where} has unsupported type annotation {type_name(tp)}{detail}") from None


def analyse(func, label: str, ctx=None):
    """(params, returns) of a callable; `label` (e.g. "entrypoint 'f'") prefixes every error.
    Classes the annotations use are added to `ctx.classes` (refs index that list)."""
    if ctx is None:
        ctx = Context()
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
        desc = _describe_for(label, f"parameter {p.name!r}", hints.get(p.name, p.annotation), ctx)
        entry = {"name": p.name, "type": desc, "required": p.default is p.empty}
        if p.default is not p.empty:
            entry["default"] = p.default
        params.append(entry)
    returns = _describe_for(label, "return value", hints.get("return", signature.return_annotation), ctx)
    return params, returns


# ---- lax coercion (pydantic v2 lax mode), mirroring what the C++ validator accepts and the runtime builds ----

_INT_STR = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _where(loc):
    return "".join(f"[{k!r}]" for k in loc)


class Invalid(ValueError):
    """A value that does not fit a description. `errors`: every problem found, as (loc, msg) with `loc` the path
    inside the value; `msg` and `loc` are the first one's."""

    def __init__(self, msg, loc=(), errors=None):
        self.errors = list(errors) if errors else [(tuple(loc), msg)]
        self.loc, self.msg = self.errors[0]
        super().__init__("; ".join(f"at {_where(l)}: {m}" if l else m for l, m in self.errors))


def _mismatch(desc, value):
    return Invalid(f"expected {desc['kind']}, got {_short(value)}")


def _to_any(value, desc, classes):
    return value


def _to_str(value, desc, classes):
    if isinstance(value, str):
        return value
    raise _mismatch(desc, value)


def _to_int(value, desc, classes):
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_STR.fullmatch(value.strip()):
        return int(value.strip().split(".")[0])
    raise _mismatch(desc, value)


def _to_float(value, desc, classes):
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and "_" not in value):
            return float(value)
    except (ValueError, OverflowError):
        pass
    raise _mismatch(desc, value)


def _to_bool(value, desc, classes):
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


def _to_none(value, desc, classes):
    if value is None:
        return None
    raise _mismatch(desc, value)


def _coerce_all(items, classes):
    """[coerced value] for (key, value, desc) items; raises one Invalid listing every item that failed."""
    out, errors = [], []
    for key, value, desc in items:
        try:
            out.append(_COERCERS[desc["kind"]](value, desc, classes))
        except Invalid as exc:
            errors.extend(((key, *loc), msg) for loc, msg in exc.errors)
    if errors:
        raise Invalid(None, errors=errors)
    return out


def _unchanged(before, after):
    return all(a is b for a, b in zip(before, after))


_CONTAINERS = {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}


def _to_list(value, desc, classes):
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise _mismatch(desc, value)
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
        raise Invalid(f"expected hashable items, got {_short(value)} ({exc})") from None


def _to_dict(value, desc, classes):
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise Invalid(f"expected dict with str keys, got {_short(value)}")
    values = desc["values"]
    if values["kind"] == "any":
        return value if type(value) is dict else dict(value)
    out = _coerce_all(((k, v, values) for k, v in value.items()), classes)
    if type(value) is dict and _unchanged(value.values(), out):
        return value
    return dict(zip(value, out))


def _to_tuple(value, desc, classes):
    items = desc["items"]
    if not isinstance(value, (list, tuple)) or len(value) != len(items):
        raise Invalid(f"expected tuple of {len(items)} items, got {_short(value)}")
    out = _coerce_all(((i, v, d) for i, (v, d) in enumerate(zip(value, items))), classes)
    return value if type(value) is tuple and _unchanged(value, out) else tuple(out)


_SEQUENCES = (list, tuple, set, frozenset)
_SHAPES = {  # kind -> Python types whose values have that kind's JSON shape, or already are such a value
    "any": object, "str": str, "float": float, "bool": bool, "none": type(None), "dict": dict,
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
    ordered = sorted(options, key=lambda d: not _same_shape(value, d, classes))
    for option in ordered:
        try:
            return coerce(value, option, classes)
        except Invalid:
            continue
    raise Invalid(f"expected {' | '.join(o.get('name', o['kind']) for o in options)}, got {_short(value)}")


def _to_literal(value, desc, classes):
    # type must match too: Literal[1] does not accept True although 1 == True
    if any(type(v) is type(value) and v == value for v in desc["values"]):
        return value
    raise Invalid(f"expected one of {desc['values']!r}, got {_short(value)}")


# -- bytes, dates and times, UUIDs (same accepted forms as src/schema/formats.cpp) --

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*")
_URLSAFE = str.maketrans("-_", "+/")


def _to_bytes(value, desc, classes):
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        text = value.rstrip("=")
        if len(text) % 4 != 1 and _BASE64.fullmatch(text):
            return base64.b64decode(text.translate(_URLSAFE) + "=" * (-len(text) % 4))
        raise Invalid(f"expected a base64 string, got {_short(value)}")
    raise _mismatch(desc, value)


_DATE_RE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_TIME_RE = r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?"
_DATE = re.compile(_DATE_RE)
_TIME = re.compile(_TIME_RE)
_DATETIME = re.compile(f"{_DATE_RE}(?:[Tt ]{_TIME_RE})?")
_MAX_UNIX = 253402300799.0  # 9999-12-31T23:59:59Z
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _time_parts(groups):
    """(hour, minute, second, microsecond, tzinfo) from _TIME_RE's groups; ValueError when out of range."""
    hour, minute, second, fraction, zulu, sign, off_h, off_m = groups
    hour, minute, second = int(hour), int(minute), int(second or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("time out of range")
    micro = int((fraction or "")[:6].ljust(6, "0"))
    tz = None
    if zulu:
        tz = datetime.timezone.utc
    elif sign:
        oh, om = int(off_h), int(off_m or 0)
        if oh > 23 or om > 59:
            raise ValueError("offset out of range")
        delta = datetime.timedelta(hours=oh, minutes=om)
        tz = datetime.timezone(-delta if sign == "-" else delta) if delta else datetime.timezone.utc
    return hour, minute, second, micro, tz


def _parse(pattern, text, build):
    match = pattern.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return build(match.groups())
    except ValueError:
        return None


def _build_datetime(groups):
    day = datetime.date(int(groups[0]), int(groups[1]), int(groups[2]))
    if groups[3] is None:
        return datetime.datetime(day.year, day.month, day.day)
    hour, minute, second, micro, tz = _time_parts(groups[3:])
    return datetime.datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=tz)


def _build_time(groups):
    hour, minute, second, micro, tz = _time_parts(groups)
    return datetime.time(hour, minute, second, micro, tzinfo=tz)


def _to_datetime(value, desc, classes):
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        parsed = _parse(_DATETIME, value, _build_datetime)
        if parsed is not None:
            return parsed
        raise Invalid(f"expected datetime as an ISO 8601 string, got {_short(value)}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) and abs(value) <= _MAX_UNIX:  # lax mode: Unix seconds, UTC
            try:
                return _EPOCH + datetime.timedelta(seconds=value)
            except OverflowError:
                pass
        raise Invalid(f"expected datetime, got Unix time {_short(value)} out of range")
    raise _mismatch(desc, value)


def _to_date(value, desc, classes):
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0) and value.tzinfo is None:
            return value.date()
        raise Invalid(f"expected date, got a datetime with a time of day {_short(value)}")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        parsed = _parse(_DATE, value, lambda g: datetime.date(int(g[0]), int(g[1]), int(g[2])))
        if parsed is not None:
            return parsed
        raise Invalid(f"expected date as YYYY-MM-DD, got {_short(value)}")
    raise _mismatch(desc, value)


def _to_time(value, desc, classes):
    if isinstance(value, datetime.time):
        return value
    if isinstance(value, str):
        parsed = _parse(_TIME, value, _build_time)
        if parsed is not None:
            return parsed
        raise Invalid(f"expected time as HH:MM[:SS[.ffffff]][offset], got {_short(value)}")
    raise _mismatch(desc, value)


_UUID_HEX = re.compile(r"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def _to_uuid(value, desc, classes):
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        text = value.strip()
        text = text[9:] if text.startswith("urn:uuid:") else text
        if len(text) >= 2 and text[0] == "{" and text[-1] == "}":
            text = text[1:-1]
        if _UUID_HEX.fullmatch(text):
            return uuid.UUID(text)
        raise Invalid(f"expected a UUID string, got {_short(value)}")
    raise _mismatch(desc, value)


# -- Enums and classes --


def _to_enum(value, desc, classes):
    cls = classes[desc["ref"]]
    if isinstance(value, cls):
        return value
    for allowed in desc["values"]:
        if type(allowed) is type(value) and allowed == value:
            return cls(allowed)
    if isinstance(value, str) and _INT_STR.fullmatch(value.strip()):  # "2" for an int member (query strings)
        number = int(value.strip().split(".")[0])
        for allowed in desc["values"]:
            if type(allowed) is int and allowed == number:
                return cls(allowed)
    raise Invalid(f"expected one of {desc['values']!r} ({desc['name']}), got {_short(value)}")


def _constructor_errors(exc):
    """[(loc, msg)] from an exception raised by a class while building a value (pydantic lists several)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            found = [(tuple(e.get("loc", ())), str(e.get("msg", exc))) for e in errors()]
            if found:
                return found
        except Exception:
            pass
    return [((), f"{type(exc).__name__}: {exc}")]


def _to_object(value, desc, classes):
    typeddict = desc["construct"] == "typeddict"
    cls = classes[desc["ref"]]
    if not typeddict and isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise Invalid(f"expected {desc['name']} or a dict of its fields, got {_short(value)}")
    kwargs, errors = {}, []
    for field in desc["fields"]:
        name = field["name"]
        if name in value:
            try:
                kwargs[name] = coerce(value[name], field["type"], classes)
            except Invalid as exc:
                errors.extend(((name, *loc), msg) for loc, msg in exc.errors)
        elif field["required"]:
            errors.append(((name,), "field required"))
    if errors:
        raise Invalid(None, errors=errors)
    if typeddict:
        return kwargs  # unknown keys are dropped, as the runtime does
    try:
        return cls(**kwargs)
    except Exception as exc:  # a validator, __post_init__ or pydantic refused it: the caller's fault, like HTTP 422
        raise Invalid(None, errors=_constructor_errors(exc)) from None


# -- numpy and pandas --


def _cast(np, array, dtype):
    """`array` as `dtype`, lax: values must survive the conversion (1.0 -> 1 yes, 1.5 -> 1 no, 300 -> uint8 no)."""
    target = np.dtype(dtype)
    if array.dtype == target:
        return array
    if array.dtype.kind not in "biuf":
        raise Invalid(f"expected an array of numbers, got dtype {array.dtype}")
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
        raise Invalid(f"expected values that fit {target.name}, got {_short(array)}")
    return out


def _to_ndarray(value, desc, classes):
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
            raise Invalid(f"expected rectangular nested arrays of numbers, got {_short(value)}") from None
        if array.dtype.kind not in "biuf":
            raise Invalid(f"expected nested arrays of numbers, got {_short(value)}")
    else:
        raise Invalid(f"expected ndarray (nested arrays of numbers), got {_short(value)}")
    if dtype is not None:
        array = _cast(np, array, dtype)
    if shape is not None and (array.ndim != len(shape)
                              or any(d is not None and d != n for d, n in zip(shape, array.shape))):
        wanted = "(" + ", ".join("*" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
        raise Invalid(f"expected an array of shape {wanted}, got shape {tuple(array.shape)}")
    return array


_TABLE = "a table: {column: [values]}, {column: {index: value}} or [{column: value}]"


def _to_dataframe(value, desc, classes):
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        frame = value
    elif isinstance(value, dict):
        length = None
        for key, column in value.items():
            if isinstance(column, dict):
                continue  # {index: value}
            if isinstance(column, (str, bytes)) or not hasattr(column, "__len__"):
                raise Invalid(f"expected {_TABLE}, got column {_short(column)}", (key,))
            if length is not None and len(column) != length:
                raise Invalid("all columns must have the same length", (key,))
            length = len(column)
        try:
            frame = pd.DataFrame.from_dict(value)
        except Exception as exc:
            raise Invalid(f"expected {_TABLE}: {exc}") from None
    elif isinstance(value, (list, tuple)):
        for i, row in enumerate(value):
            if not isinstance(row, dict):
                raise Invalid(f"expected {_TABLE}, got row {_short(row)}", (i,))
        try:
            frame = pd.DataFrame.from_records(list(value)) if value else pd.DataFrame()
        except Exception as exc:
            raise Invalid(f"expected {_TABLE}: {exc}") from None
    else:
        raise Invalid(f"expected {_TABLE}, got {_short(value)}")
    columns = desc.get("columns")
    if columns and not (isinstance(value, (list, tuple)) and not value):  # [] is an empty table of any columns
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise Invalid(None, errors=[((c,), "column required") for c in missing])
    return frame


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
    "bytes": _to_bytes,
    "datetime": _to_datetime,
    "date": _to_date,
    "time": _to_time,
    "uuid": _to_uuid,
    "enum": _to_enum,
    "object": _to_object,
    "ndarray": _to_ndarray,
    "dataframe": _to_dataframe,
}


def coerce(value, desc: dict, classes=()):
    """`value` converted to fit `desc` the lax way, as the runtime builds it from JSON; values that already fit
    pass through unchanged. `classes` is the export's "classes" list (for enum and object descriptions).
    Raises Invalid (a ValueError) listing every problem found."""
    return _COERCERS[desc["kind"]](value, desc, classes)
