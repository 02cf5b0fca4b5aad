"""Entrypoint signatures -> (params, returns) type descriptions, analysed once at registration; every error names
the function and the parameter. Pure functions; classes met are added to the caller's Context."""

import inspect
import typing

from ._describe import Context, describe
from ._unsupported import UnsupportedType, type_name


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


def describe_for(label, where, tp, ctx):
    """describe(tp), with an UnsupportedType turned into a TypeError naming `label` and `where`."""
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
        desc = describe_for(label, f"parameter {p.name!r}", hints.get(p.name, p.annotation), ctx)
        entry = {"name": p.name, "type": desc, "required": p.default is p.empty}
        if p.default is not p.empty:
            entry["default"] = p.default
        params.append(entry)
    returns = describe_for(label, "return value", hints.get("return", signature.return_annotation), ctx)
    return params, returns
