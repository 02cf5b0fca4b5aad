"""Legacy import path (`from mvi.mvi import MviService, notify, Severity`): `MviService()` is the one service.
Thread-safety: as _service.py."""

from ._service import Service as MviService
from .communication import Severity, notify

__all__ = ["MviService", "notify", "Severity"]
