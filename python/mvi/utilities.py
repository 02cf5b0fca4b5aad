"""Facts about the running service for user code, under Daeploy's names (`mvi.utilities.get_service_root_path()`).
Under mvi-runtime they are the runtime's settings (--name, --service-version, --root-path); under plain python the
environment variables the runtime reads for them. Thread-safety: read-only."""

import os

__all__ = ["get_service_name", "get_service_version", "get_service_root_path"]

# what Daeploy answered when nothing was configured; the runtime's own defaults apply under it
_UNKNOWN_NAME = "unknown"
_UNKNOWN_VERSION = "0.0.0"


def _runtime_info():
    try:
        import _mvi_native
    except ImportError:
        return None
    info = getattr(_mvi_native, "service_info", None)  # a test's stand-in may not have it
    return info() if info else None


def _setting(key, env_names, default):
    info = _runtime_info()
    if info is not None:
        return info[key]
    for name in env_names:
        value = os.environ.get(name)
        if value:
            return value
    return default


def get_service_name() -> str:
    """The service's name (--name / MVI_SERVICE_NAME; Daeploy's `daeploy.name` is read too)."""
    return _setting("name", ("MVI_SERVICE_NAME", "daeploy.name"), _UNKNOWN_NAME)


def get_service_version() -> str:
    """The service's version (--service-version / MVI_SERVICE_VERSION, or `daeploy.version`)."""
    return _setting("version", ("MVI_SERVICE_VERSION", "daeploy.version"), _UNKNOWN_VERSION)


def get_service_root_path() -> str:
    """The path prefix the service is reached under behind a proxy (--root-path / MVI_ROOT_PATH), "" when none:
    what a mounted dashboard needs as its own prefix (`requests_pathname_prefix=get_service_root_path() + "/"`).
    Daeploy derived `/services/<name>_<version>` from its manager; here the prefix is configured, because there is
    no manager that decides it."""
    return _setting("root_path", ("MVI_ROOT_PATH",), "").rstrip("/")
