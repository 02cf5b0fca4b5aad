"""A newcomer's first steps after the README's set-up (issue 16): Debian's python3 imports mvi with no PYTHONPATH
(scripts/setup.sh writes a .pth naming this tree's python/), and `python3 service.py` serves through the
mvi-runtime built beside the package, with no MVI_RUNTIME_BIN and nothing on PATH."""

import os
import shutil

from conftest import REPO, SYSTEM_PYTHON, run_command

CLEAN = {"PYTHONPATH": None, "MVI_RUNTIME_BIN": None, "PATH": "/usr/bin:/bin"}


def test_debians_python_imports_this_trees_package(tmp_path):
    result = run_command([SYSTEM_PYTHON, "-c", "import mvi; print(mvi.__file__)"], cwd=tmp_path, env=CLEAN)
    assert result.returncode == 0, f"run ./scripts/setup.sh in this clone first\n{result.describe()}"
    assert result.stdout.strip() == str(REPO / "python" / "mvi" / "__init__.py"), result.describe()


def test_python_service_py_serves_with_nothing_set(tmp_path, start_service):
    shutil.copy(REPO / "examples" / "hello" / "service.py", tmp_path / "service.py")
    svc = start_service(tmp_path / "service.py", python=True, env=CLEAN)  # python3 service.py --port 0
    r = svc.request("POST", "/hello", json={"name": "Ada"})
    assert r.status == 200 and r.body == "Hello Ada", f"{r}\n{svc.describe()}"
    # python3 replaced itself with the runtime built beside the package (service.run's lookup, SPEC §13)
    assert os.readlink(f"/proc/{svc.proc.pid}/exe") == str(REPO / "build" / "mvi-runtime")
