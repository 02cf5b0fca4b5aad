"""The type-description contract in one import (docs/dev/type-descriptions.md): annotations -> plain JSON-able
descriptions (_describe, _analyse) and the local lax coercer that builds the same Python values the runtime builds
(_coerce). Kept for callers and tests that import `mvi._signature`; the package itself imports the modules."""

from ._analyse import analyse
from ._coerce import coerce
from ._describe import ANY, Context, describe, describe_json
from ._invalid import Invalid
from ._unsupported import UnsupportedType, type_name

__all__ = ["ANY", "Context", "Invalid", "UnsupportedType", "analyse", "coerce", "describe", "describe_json",
           "type_name"]
