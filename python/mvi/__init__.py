"""mvi: declare a service's entrypoints, parameters and jobs; served by mvi-runtime, callable under plain python.
Thread-safety: see _service.py; importing this package has no side effects beyond creating the registry."""

from ._service import service
from .exceptions import HTTPException, ValidationError

__all__ = ["service", "HTTPException", "ValidationError"]
