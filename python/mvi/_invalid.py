"""Invalid: the error of lax coercion (a value that does not fit a type description), with every problem's
location inside the value and its pydantic v2 error type, the same types the C++ validator reports.
Plain exception objects; nothing shared."""


def short(value, limit=120):
    """repr(value), cut to `limit` characters: messages quote what was sent without flooding the log."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _where(loc):
    return "".join(f"[{k!r}]" for k in loc)


class Invalid(ValueError):
    """A value that does not fit a description. `errors`: every problem found, as (loc, msg, type) with `loc` the
    path inside the value and `type` pydantic's error type ("int_parsing", "missing", ...); `loc`, `msg` and
    `type` are the first one's."""

    def __init__(self, type, msg, loc=(), errors=None):
        self.errors = list(errors) if errors else [(tuple(loc), msg, type)]
        self.loc, self.msg, self.type = self.errors[0]
        super().__init__("; ".join(f"at {_where(l)}: {m}" if l else m for l, m, _ in self.errors))

    def inside(self, key):
        """This exception's errors with `key` prepended to each location (for a container's item)."""
        return [((key, *loc), msg, type) for loc, msg, type in self.errors]


# the error type of a value whose JSON shape does not fit at all, per kind (src/schema/validator.cpp)
_SHAPE_ERRORS = {
    "str": "string_type", "int": "int_type", "float": "float_type", "number": "float_type", "bool": "bool_type",
    "none": "none_required",
    "list": "list_type", "bytes": "bytes_type", "datetime": "datetime_type", "date": "date_type",
    "time": "time_type", "uuid": "uuid_type",
}


def mismatch(desc, value):
    """The Invalid for a value of the wrong JSON shape for `desc`."""
    return Invalid(_SHAPE_ERRORS[desc["kind"]], f"expected {desc['kind']}, got {short(value)}")
