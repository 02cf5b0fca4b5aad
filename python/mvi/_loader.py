"""Used by mvi-runtime: run the user's file as `__main__`, as `python FILE` would, and return the registry.
Thread-safety: call once, with the GIL, before serving; it replaces sys.modules["__main__"], sys.argv, sys.path[0]."""

import builtins
import importlib.machinery
import os
import sys
import traceback
import types

from ._service import service


def load_service(path: str) -> dict:
    """Execute `path` as the main module; its exceptions propagate. Returns `service._export()`."""
    path = os.path.abspath(path)
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__builtins__ = builtins
    module.__cached__ = None
    module.__spec__ = None
    module.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    sys.modules["__main__"] = module
    # like `python FILE`: the file's folder comes first, so its sibling modules import
    sys.path.insert(0, os.path.dirname(path))
    sys.argv = [path]
    with open(path, "rb") as f:
        source = f.read()
    exec(compile(source, path, "exec"), module.__dict__)
    return service._export()


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def format_error(exc_type, exc, tb) -> list[str]:
    """The traceback of an error while loading or starting the service, as the user needs it: only the frames of
    their own code (and libraries), not the mvi package's (the loader's exec, a check inside service.entrypoint),
    so it ends at the user's line. When every frame is mvi's (a bug of ours), all are kept."""
    frames = []
    node = tb
    while node is not None:
        if not node.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            frames.append(node)
        node = node.tb_next
    if frames:
        for earlier, later in zip(frames, frames[1:]):
            earlier.tb_next = later
        frames[-1].tb_next = None
        tb = frames[0]
    return traceback.format_exception(exc_type, exc, tb)
