"""Type descriptions of classes found by what they are: Enums, dataclasses, TypedDicts, pydantic models (v1 and v2),
numpy arrays and pandas DataFrames. numpy, pandas and pydantic are never imported here unless an annotation is
theirs (only modules already imported can have made the class). Pure functions; `ctx` is the caller's Context."""

import dataclasses
import enum
import inspect
import math
import sys
import typing
import warnings

from ._unsupported import RecursiveType, UnsupportedType


def _class_doc(cls):
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or not doc.strip():
        return None
    if dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}("):
        return None  # the signature text @dataclass writes when a class has no docstring
    return inspect.cleandoc(doc)


_NO_DEFAULT = object()


def _field(name, desc, required, default=_NO_DEFAULT):
    """A field of an object description; "default" only when the default converts to JSON (OpenAPI shows it, and
    a result missing the field gets it, as a response model would fill it in)."""
    field = {"name": name, "type": desc, "required": required}
    if not required and default is not _NO_DEFAULT:
        from ._encode import to_jsonable  # light: no numpy/pandas unless the value is theirs
        try:
            field["default"] = to_jsonable(default)
        except (TypeError, ValueError):
            pass
    return field


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
            default = f.default if f.default is not dataclasses.MISSING else _NO_DEFAULT
            fields.append(_field(f.name, ctx.field(tp, f.name, hints.get(f.name, f.type)), required, default))
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
    except RecursiveType:
        raise
    except UnsupportedType:
        return {"kind": "any"}


def _pydantic(tp, args, ctx):
    def build(ref):
        fields = []
        if _pydantic_version(tp) == 2:
            for name, info in tp.model_fields.items():
                desc = _model_field(ctx, tp, name, info.annotation)
                alias = getattr(info, "validation_alias", None)  # AliasPath/AliasChoices: not a key we can name
                json_name = alias if isinstance(alias, str) else info.alias or name
                required = bool(info.is_required())
                default = getattr(info, "default", _NO_DEFAULT) if not required and getattr(info, "default_factory", None) is None else _NO_DEFAULT
                fields.append(_field(json_name, desc, required, default))
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
                required = field.required is True
                default = getattr(field, "default", _NO_DEFAULT) if not required and getattr(field, "default_factory", None) is None else _NO_DEFAULT
                fields.append(_field(field.alias or name, desc, required, default))
        return _object(tp, ref, "pydantic", fields)

    return ctx.class_desc(tp, build)


# ---- numpy and pandas ----

_NDARRAY_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                             "float16", "float32", "float64"})


def dtype_name(tp, dtype):
    """The numpy name of `dtype` if the runtime can build arrays of it; UnsupportedType (naming `tp`) otherwise."""
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
            dtype = dtype_name(tp, scalar)
    desc = {"kind": "ndarray", "dtype": dtype, "shape": None}
    if getattr(tp, "_mvi_any_elements", False):
        # Daeploy's ArrayInput: any JSON array, as numpy.array(value) takes it (numbers stay packed); a plain
        # numpy.ndarray annotation wants numbers, so a stray string is a 422 rather than the function's crash
        desc["elements"] = "any"
    return desc


def _dataframe(tp, args, ctx):
    return {"kind": "dataframe", "columns": None}


# ---- class predicates (only modules already imported can have made the class) ----


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

# classes found by what they are rather than by identity, tried in order
BY_CLASS = [
    (lambda tp: isinstance(tp, type) and issubclass(tp, enum.Enum), _enum),
    (lambda tp: _pydantic_version(tp) is not None, _pydantic),
    (lambda tp: isinstance(tp, type) and dataclasses.is_dataclass(tp), _dataclass),
    (_is_typeddict, _typeddict),
    (_is_ndarray, _ndarray),  # also mvi.types.ArrayInput / ArrayOutput
    (_subclass_of("pandas", "DataFrame"), _dataframe),  # also mvi.types.DataFrameInput / DataFrameOutput
]

# generic aliases whose origin is such a class: only numpy.typing.NDArray[...]
BY_GENERIC_CLASS = [(_is_ndarray, _ndarray)]
