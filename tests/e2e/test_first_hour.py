"""A newcomer's first steps after the README's set-up (issue 16): Debian's python3 imports mvi with no PYTHONPATH
(scripts/setup.sh writes a .pth naming this tree's python/), and `python3 service.py` serves through the
mvi-runtime built beside the package, with no MVI_RUNTIME_BIN and nothing on PATH."""

import os
import shutil

import pytest

from conftest import REPO, SYSTEM_PYTHON, run_command

CLEAN = {"PYTHONPATH": None, "MVI_RUNTIME_BIN": None, "PATH": "/usr/bin:/bin"}


@pytest.fixture
def set_up_here(tmp_path):
    """Debian's python3 imports this tree's package: true after ./scripts/setup.sh ran in this clone (the last
    clone set up wins), which CI's run does before the tests."""
    result = run_command([SYSTEM_PYTHON, "-c", "import mvi; print(mvi.__file__)"], cwd=tmp_path, env=CLEAN)
    assert result.returncode == 0, f"run ./scripts/setup.sh in this clone first\n{result.describe()}"
    assert result.stdout.strip() == str(REPO / "python" / "mvi" / "__init__.py"), (
        f"python3 imports another clone's mvi: run ./scripts/setup.sh in this clone\n{result.describe()}")


def test_debians_python_imports_this_trees_package(set_up_here):
    pass  # the fixture is the test; the tests below need it too


def test_python_service_py_serves_with_nothing_set(set_up_here, tmp_path, start_service):
    shutil.copy(REPO / "examples" / "hello" / "service.py", tmp_path / "service.py")
    svc = start_service(tmp_path / "service.py", python=True, env=CLEAN)  # python3 service.py --port 0
    r = svc.request("POST", "/hello", json={"name": "Ada"})
    assert r.status == 200 and r.body == "Hello Ada", f"{r}\n{svc.describe()}"
    # python3 replaced itself with the runtime built beside the package (service.run's lookup, SPEC §13)
    assert os.readlink(f"/proc/{svc.proc.pid}/exe") == str(REPO / "build" / "mvi-runtime")


def test_mvi_init_and_its_printed_next_steps_work_verbatim(set_up_here, tmp_path, start_service):
    """`python3 -m mvi init demo` in a new folder, then each command it prints, with nothing set (SPEC §13: the
    README's commands against the built tree, in a clean environment)."""
    result = run_command([SYSTEM_PYTHON, "-m", "mvi", "init", "demo", "-n"], cwd=tmp_path, env=CLEAN)
    assert result.returncode == 0, result.describe()
    steps = [line.split("#")[0].strip() for line in result.stdout.split("Next:\n", 1)[1].splitlines() if line.strip()]
    assert steps == ["cd demo", "python3 service.py", "python3 -m pytest tests"], result.stdout
    demo = tmp_path / "demo"
    svc = start_service(demo / "service.py", python=True, env=CLEAN)  # `python3 service.py` in demo/ (port 0)
    r = svc.request("POST", "/hello", json={"name": "Ada"})
    assert r.status == 200 and r.body == "Hello Ada", f"{r}\n{svc.describe()}"
    svc.stop()
    tests = run_command([SYSTEM_PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=demo,
                        env=CLEAN, timeout=120)
    assert tests.returncode == 0 and " passed" in tests.stdout and "failed" not in tests.stdout, tests.describe()
    direct = run_command([SYSTEM_PYTHON, "-c", "import service; print(service.hello('Bob'))"], cwd=demo, env=CLEAN)
    assert direct.returncode == 0 and direct.stdout.strip() == "Hello Bob", direct.describe()


def test_pip_installs_the_package_into_a_virtualenv(tmp_path):
    """python/pyproject.toml: `pip install ./python` in a virtualenv (offline: Debian's setuptools through
    --system-site-packages), then the venv's own mvi is imported and its `mvi` command makes a project."""
    source = tmp_path / "src"
    shutil.copytree(REPO / "python", source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    made = run_command([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", venv], env=CLEAN, timeout=60)
    assert made.returncode == 0, made.describe()
    pip = run_command([venv / "bin" / "pip", "install", "-q", "--no-build-isolation", "--no-index", source],
                      cwd=tmp_path, env=CLEAN, timeout=180)
    assert pip.returncode == 0, pip.describe()
    where = run_command([venv / "bin" / "python", "-c", "import mvi; print(mvi.__file__)"], cwd=tmp_path, env=CLEAN)
    assert where.returncode == 0 and where.stdout.strip().startswith(str(venv)), where.describe()
    init = run_command([venv / "bin" / "mvi", "init", "demo", "-n"], cwd=tmp_path, env=CLEAN)
    assert init.returncode == 0 and (tmp_path / "demo" / "tests" / "test_http.py").is_file(), init.describe()
    assert (tmp_path / "demo" / ".s2iignore").is_file()
