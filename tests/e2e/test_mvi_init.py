"""`mvi init` (SPEC §12) through the real launcher: build/mvi, beside build/mvi-runtime (MVI_RUNTIME_BIN's folder).

The generated project must work as generated: `mvi-runtime demo/service.py` and `python3 demo/service.py` answer
POST /hello, and `python3 -m pytest demo/tests` passes. The last test installs the build into a temporary prefix
and does the same with <prefix>/bin/mvi and no PYTHONPATH.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, SYSTEM_PYTHON, child_env, run_command

TEMPLATES = REPO / "python" / "mvi" / "templates" / "project"
EXPECTED_FILES = {
    "service.py",
    "requirements.txt",
    "README.md",
    ".s2i/environment",
    ".s2iignore",
    "tests/conftest.py",
    "tests/test_service.py",
    "tests/test_http.py",
}
WORLD_MSG = "Someone is trying to greet the World, too time consuming. Skipping!"


@pytest.fixture(scope="session")
def mvi_bin(runtime_bin):
    path = Path(runtime_bin).parent / "mvi"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path} is missing or not executable: CMake puts the mvi launcher beside mvi-runtime "
                    f"(re-run cmake --build)", pytrace=False)
    return str(path)


def files_under(folder):
    return {p.relative_to(folder).as_posix() for p in Path(folder).rglob("*") if p.is_file()}


def run_with_stdin(argv, stdin_text, cwd, timeout=20.0):
    """Like run_cmd, with `stdin_text` on standard input."""
    try:
        return subprocess.run([str(a) for a in argv], cwd=str(cwd), env=child_env(), input=stdin_text,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(map(str, argv))} did not exit within {timeout:.0f} s", pytrace=False)


def passed_count(output):
    m = re.search(r"(\d+) passed", output)
    return int(m.group(1)) if m else 0


def run_generated_tests(run_cmd, args, cwd, env=None):
    result = run_cmd([SYSTEM_PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=cwd, env=env,
                     timeout=60)
    assert result.returncode == 0, f"the generated tests fail\n{result.describe()}"
    assert passed_count(result.stdout) >= 2 and "failed" not in result.stdout, result.describe()
    return result


@pytest.fixture
def demo(mvi_bin, run_cmd, tmp_path):
    """`mvi init demo -n` in tmp_path; returns tmp_path / "demo"."""
    result = run_cmd([mvi_bin, "init", "demo", "-n"], cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    return tmp_path / "demo"


def test_init_writes_the_project(mvi_bin, run_cmd, tmp_path):
    result = run_cmd([mvi_bin, "init", "demo", "-n"], cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    assert "Created demo/" in result.stdout, result.describe()
    assert result.stderr == "", result.describe()
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]
    project = tmp_path / "demo"
    assert files_under(project) == EXPECTED_FILES
    # service.py is seed 001's Full Code, the same file as examples/hello/service.py
    service_py = (project / "service.py").read_text()
    assert service_py == (TEMPLATES / "service.py.tmpl").read_text()
    assert service_py == (REPO / "examples" / "hello" / "service.py").read_text()
    assert "APP_FILE = service.py" in (project / ".s2i" / "environment").read_text().splitlines()
    assert (project / "README.md").read_text().startswith("# demo\n")
    for rel in EXPECTED_FILES:
        assert "{{" not in (project / rel).read_text(), f"{rel} still has a template placeholder"


def test_generated_service_serves(demo, start_service):
    svc = start_service(demo / "service.py", cwd=demo.parent)
    resp = svc.request("POST", "/hello", json={"name": "Ada"})
    assert resp.status == 200 and resp.body == "Hello Ada", f"POST /hello: {resp}\n{svc.describe()}"
    resp = svc.request("POST", "/parameters/greeting_phrase", json={"greeting_phrase": "Bonjour"})
    assert resp.status == 200, f"POST /parameters/greeting_phrase: {resp}"
    resp = svc.request("POST", "/hello", json={"name": "Ada"})
    assert resp.status == 200 and resp.body == "Bonjour Ada", f"parameter not used: {resp}"
    resp = svc.request("POST", "/hello", json={"name": "World"})
    assert resp.status == 200 and resp.body == "Greeting failed", f"POST /hello World: {resp}"
    notes = svc.request("GET", "/notifications")
    assert notes.status == 200 and isinstance(notes.body, list), f"GET /notifications: {notes}"
    assert any(n.get("msg") == WORLD_MSG and n.get("severity") == 1 for n in notes.body), notes.body


def test_generated_service_runs_with_python(demo, start_service):
    svc = start_service(demo / "service.py", python=True)  # python3 service.py, in the project folder
    resp = svc.request("POST", "/hello", json={"name": "Ada"})
    assert resp.status == 200 and resp.body == "Hello Ada", f"POST /hello: {resp}\n{svc.describe()}"


def test_generated_tests_pass(demo, run_cmd):
    run_generated_tests(run_cmd, ["demo/tests"], cwd=demo.parent)
    run_generated_tests(run_cmd, ["tests"], cwd=demo)  # as the generated README says, from the project folder
    assert not (demo / ".pytest_cache").exists()


def test_prompt_reads_the_name(mvi_bin, tmp_path):
    result = run_with_stdin([mvi_bin, "init"], "proj\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("project_name [my_project]: "), result.stdout
    assert files_under(tmp_path / "proj") == EXPECTED_FILES

    result = run_with_stdin([mvi_bin, "init"], "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "my_project" / "service.py").is_file()


def test_prompt_without_an_answer_fails(mvi_bin, run_cmd, tmp_path):
    result = run_cmd([mvi_bin, "init"], cwd=tmp_path)  # stdin is /dev/null
    assert result.returncode == 2, result.describe()
    assert "no answer" in result.stderr, result.describe()
    assert list(tmp_path.iterdir()) == []


def test_no_input_without_name_uses_my_project(mvi_bin, run_cmd, tmp_path):
    result = run_cmd([mvi_bin, "init", "-n"], cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    assert files_under(tmp_path / "my_project") == EXPECTED_FILES


@pytest.mark.parametrize("name", ["1demo", "a", "my-project", "my project", "a.b", "../escape", "dé", ""])
def test_bad_names_are_rejected(mvi_bin, run_cmd, tmp_path, name):
    result = run_cmd([mvi_bin, "init", name, "-n"], cwd=tmp_path)
    assert result.returncode == 2, result.describe()
    assert f"{name!r} is not a valid project name" in result.stderr, result.describe()
    assert "^[_a-zA-Z][_a-zA-Z0-9]+$" in result.stderr, result.describe()
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "escape").exists()


def test_existing_folder_is_refused(mvi_bin, run_cmd, tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "notes.txt").write_text("mine")
    result = run_cmd([mvi_bin, "init", "demo", "-n"], cwd=tmp_path)
    assert result.returncode == 1, result.describe()
    assert "already exists" in result.stderr and "--force" in result.stderr, result.describe()
    assert files_under(tmp_path / "demo") == {"notes.txt"}

    result = run_cmd([mvi_bin, "init", "demo", "-n", "--force"], cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    assert files_under(tmp_path / "demo") == EXPECTED_FILES | {"notes.txt"}
    assert (tmp_path / "demo" / "notes.txt").read_text() == "mine"


def test_version_and_help(mvi_bin, runtime_bin, run_cmd):
    result = run_cmd([mvi_bin, "--version"])
    runtime = run_cmd([runtime_bin, "--version"])
    assert result.returncode == 0 and runtime.returncode == 0, result.describe() + runtime.describe()
    assert result.stdout.split()[-1] == runtime.stdout.split()[-1], (result.stdout, runtime.stdout)
    result = run_cmd([mvi_bin, "--help"])
    assert result.returncode == 0 and "init" in result.stdout, result.describe()
    result = run_cmd([mvi_bin, "init", "--help"])
    assert result.returncode == 0 and "--no-input" in result.stdout, result.describe()
    result = run_cmd([mvi_bin])
    assert result.returncode == 2 and "command is required" in result.stderr, result.describe()


def test_installed_mvi(runtime_bin, start_service, tmp_path):
    """cmake --install into a temporary prefix: bin/mvi uses share/mvi-runtime/python (templates included), and
    the generated tests find the installed package with no PYTHONPATH (tests/conftest.py looks beside mvi-runtime)."""
    build_dir = Path(runtime_bin).parent
    cmake = shutil.which("cmake")
    if cmake is None or not (build_dir / "cmake_install.cmake").is_file():
        pytest.skip("needs cmake and the build tree of MVI_RUNTIME_BIN")
    prefix = tmp_path / "prefix"
    # cmake --install rewrites build/install_manifest.txt: put back what was there, the build tree is shared
    manifest = build_dir / "install_manifest.txt"
    saved = manifest.read_bytes() if manifest.is_file() else None
    try:
        install = run_command([cmake, "--install", build_dir, "--prefix", prefix], timeout=60)
    finally:
        if saved is None:
            manifest.unlink(missing_ok=True)
        else:
            manifest.write_bytes(saved)
    assert install.returncode == 0, install.describe()
    installed_mvi = prefix / "bin" / "mvi"
    assert os.access(installed_mvi, os.X_OK), install.describe()
    assert (prefix / "share" / "mvi-runtime" / "python" / "mvi" / "templates" / "project" / ".s2iignore.tmpl").is_file()

    work = tmp_path / "work"
    work.mkdir()
    env = {
        "PYTHONPATH": None,
        "MVI_RUNTIME_BIN": None,
        "PATH": f"{prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = run_command([installed_mvi, "init", "demo", "-n"], cwd=work, env=env)
    assert result.returncode == 0, result.describe()
    assert files_under(work / "demo") == EXPECTED_FILES
    run_generated_tests(run_command, ["demo/tests"], cwd=work, env=env)
