"""The callable `@service.entrypoint` returns: it validates and coerces its arguments like the HTTP path (same
type descriptions, same lax rules, same Python values built), then calls the user's function.
The runtime never calls it: the export keeps the original function, validated in C++ instead.
Thread-safety: a wrapper only reads data fixed at registration; safe from any thread."""

import functools
import inspect

from ._coerce import coerce
from ._invalid import Invalid
from .exceptions import ValidationError

# kinds whose values of exactly this Python type are already what the function gets: no coercion call at all
_ALREADY = {"any": object, "str": str, "int": int, "float": float, "bool": bool}


def validating_wrapper(func, params, label, classes):
    """A functools.wraps wrapper of `func` (sync or async) checking arguments against `params` (from analyse).
    `classes` is the service's class list that the descriptions' `ref`s index (it only ever grows)."""
    signature = inspect.signature(func)
    names = [p["name"] for p in params]
    positional = sum(1 for p in signature.parameters.values() if p.kind == p.POSITIONAL_OR_KEYWORD)
    descs = {p["name"]: p["type"] for p in params}
    already = {name: _ALREADY.get(desc["kind"]) for name, desc in descs.items()}
    required = frozenset(p["name"] for p in params if p["required"])

    def call_shape_error(args, kwargs):
        # the unusual case (wrong count, unknown or repeated name): let inspect word it as Python would
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            return TypeError(f"{label}: {exc}")
        return TypeError(f"{label}: cannot bind the arguments")

    def arguments(args, kwargs):
        if len(args) > positional:
            raise call_shape_error(args, kwargs)
        values = dict(zip(names, args))
        for name, value in kwargs.items():
            if name in values or name not in descs:
                raise call_shape_error(args, kwargs)
            values[name] = value
        if not required.issubset(values):
            raise call_shape_error(args, kwargs)
        errors = None
        for name, value in list(values.items()):
            exact = already[name]
            if exact is object or type(value) is exact:
                continue
            try:
                values[name] = coerce(value, descs[name], classes)
            except Invalid as exc:
                errors = errors or []
                errors.extend(exc.inside(name))
        if errors:
            raise ValidationError(label, errors)
        return values  # omitted arguments are left to the function's own defaults

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args, **kwargs):
            return await func(**arguments(args, kwargs))

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(**arguments(args, kwargs))

    return wrapper
