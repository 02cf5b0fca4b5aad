"""Helpers for a service's own unit tests. `patch` is unittest.mock.patch, re-exported as Daeploy's testing module
did, so `from mvi.testing import patch` keeps tests that patch notify or call_service working.
Thread-safety: as unittest.mock."""

from unittest.mock import patch

__all__ = ["patch"]
