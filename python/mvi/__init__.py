"""mvi: declare a service's entrypoints, parameters and jobs; served by mvi-runtime, callable under plain python.
Thread-safety: see _service.py; importing this package has no side effects beyond creating the registry."""

from . import communication, utilities
from ._service import service
from .exceptions import HTTPException, ValidationError

__all__ = ["service", "HTTPException", "ValidationError", "communication", "utilities", "testing"]


def __getattr__(name):
    # `mvi.testing` as Daeploy's package offered it, imported on first use (it pulls in unittest.mock)
    if name == "testing":
        import importlib

        return importlib.import_module(".testing", __name__)
    raise AttributeError(f"module 'mvi' has no attribute {name!r}")
