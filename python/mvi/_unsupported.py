"""The error of type analysis: an annotation (or a part of it) that has no type description.
A leaf module, so every describing module can raise it without importing the others. Plain exception objects."""


def type_name(tp) -> str:
    """`tp` as a reader would write it: `int`, `mymodule.Point`, `list[int]`."""
    if isinstance(tp, type):
        return tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp)


class UnsupportedType(TypeError):
    """An annotation (or a part of it) that has no type description."""

    def __init__(self, annotation, reason=None):
        self.annotation, self.reason = annotation, reason
        self.fields = []  # ["Outer.inner", "Inner.x"]: where inside classes the annotation sits
        super().__init__(f"unsupported type annotation {type_name(annotation)}" + (f" ({reason})" if reason else ""))


class RecursiveType(UnsupportedType):
    """A class that contains itself: never described as `any`, always an error."""
