"""Annotations -> type descriptions: the plain JSON-able dicts the C++ validator reads (docs/dev/type-descriptions.md).
This module holds the dispatch and the structural kinds (scalars, containers, unions, literals); classes are in
_describe_classes.py. Pure functions over immutable tables; a Context belongs to one analysis at a time."""

import copy
import datetime
import inspect
import types
import typing
import uuid

from ._describe_classes import BY_CLASS, BY_GENERIC_CLASS, dtype_name
from ._unsupported import RecursiveType, UnsupportedType
from .types import NDArray

ANY = {"kind": "any"}


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
                raise RecursiveType(cls, f"recursive type {' -> '.join(chain)} is not supported")
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
        except RecursiveType:
            raise
        except UnsupportedType as exc:
            exc.fields.insert(0, f"{cls.__name__}.{name}")
            raise


# ---- the structural kinds: one function per kind, found through the dispatch tables below ----


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
                desc["dtype"] = dtype_name(tp, meta.dtype)
            if meta.shape is not None:
                desc["shape"] = list(meta.shape)
    return desc  # any other metadata is ignored


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
        handler = _lookup(_BY_TYPE, tp) or _match(BY_CLASS, tp)
    else:
        handler = _lookup(_BY_ORIGIN, origin) or _match(BY_GENERIC_CLASS, origin)
    if handler is None:
        raise UnsupportedType(tp)
    return handler(tp, typing.get_args(tp), ctx)


_JSON_KINDS = frozenset({"any", "str", "int", "float", "number", "bool", "none", "list", "tuple", "dict", "union",
                         "literal"})


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
