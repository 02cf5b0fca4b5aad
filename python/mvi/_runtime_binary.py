"""Where the mvi-runtime binary is, for code that starts it (mvi.testing.TestClient): SPEC §13's order —
MVI_RUNTIME_BIN (an explicit override wins), then beside the package (an installed tree's bin/, a source tree's
build/), then PATH. Thread-safety: reads the environment and the file system only."""

import os
import shutil

__all__ = ["find_runtime"]


def _beside_the_package():
    package = os.path.dirname(os.path.abspath(__file__))
    return [
        # cmake --install: <prefix>/share/mvi-runtime/python/mvi beside <prefix>/bin/mvi-runtime
        os.path.join(package, os.pardir, os.pardir, os.pardir, os.pardir, "bin", "mvi-runtime"),
        # the source tree: python/mvi beside build/mvi-runtime (README's build directory)
        os.path.join(package, os.pardir, os.pardir, "build", "mvi-runtime"),
    ]


def _executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_runtime(who: str) -> str:
    """The absolute path of mvi-runtime; RuntimeError naming `who` and every place looked at when there is none."""
    explicit = os.environ.get("MVI_RUNTIME_BIN")
    if explicit:
        path = os.path.abspath(explicit)
        if not _executable(path):
            raise RuntimeError(f"{who}: MVI_RUNTIME_BIN={explicit!r} is not an executable file")
        return path
    candidates = _beside_the_package()
    for path in candidates:
        if _executable(path):
            return os.path.normpath(path)
    found = shutil.which("mvi-runtime")
    if found:
        return os.path.abspath(found)
    looked = ", ".join(os.path.normpath(p) for p in candidates)
    raise RuntimeError(f"{who}: mvi-runtime not found (looked at {looked} and PATH); build it with the README's "
                       f"commands, install it, or set MVI_RUNTIME_BIN")
