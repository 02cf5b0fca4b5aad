"""service.run() (exec into mvi-runtime from __main__, nothing when imported) and _loader.load_service."""

import os
import shutil
import subprocess
import sys
import textwrap
import types

import pytest

import mvi
from mvi import _loader, service

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(mvi.__file__)))

NEW_STYLE = """
from mvi import service

@service.entrypoint
def hello(name: str) -> str:
    return "Hello " + name

if __name__ == "__main__":
    print("before run", flush=True)
    service.run()
    print("not reached")
"""

LEGACY = """
import logging
from mvi.mvi import MviService, notify, Severity

mvi = MviService()
logger = logging.getLogger(__name__)

mvi.add_parameter("greeting_phrase", "Hello")


@mvi.entrypoint
def hello(name: str) -> str:
    greeting_phrase = mvi.get_parameter("greeting_phrase")
    if name == "World":
        notify(msg="Someone is trying to greet the World", severity=Severity.WARNING)
        return "Greeting failed"
    return f"{greeting_phrase} {name}"


mvi.run()
"""


@pytest.fixture(autouse=True)
def fresh_service():
    service._reset()
    yield
    service._reset()


@pytest.fixture
def fake_runtime(tmp_path):
    script = tmp_path / "fake-mvi-runtime"
    script.write_text('#!/bin/sh\nfor a in "$0" "$@"; do echo "ARG $a"; done\n')
    script.chmod(0o755)
    return str(script)


def run_python(args, tmp_path, **env):
    # a copy of the package, so the mvi-runtime built beside the source tree's package is not found
    package = tmp_path / "pkg"
    if not package.exists():
        shutil.copytree(os.path.join(PYTHON_DIR, "mvi"), package / "mvi",
                        ignore=shutil.ignore_patterns("__pycache__"))
    full_env = {k: v for k, v in os.environ.items() if k != "MVI_RUNTIME_BIN"}
    full_env.update(PYTHONPATH=str(package), PATH=str(tmp_path / "empty-bin"), **env)
    return subprocess.run([sys.executable, *args], cwd=tmp_path, env=full_env, capture_output=True, text=True,
                          timeout=60)


def test_run_from_main_execs_the_runtime_with_file_and_args(tmp_path, fake_runtime):
    (tmp_path / "service.py").write_text(NEW_STYLE)
    result = run_python(["service.py", "--port", "0"], tmp_path, MVI_RUNTIME_BIN=fake_runtime)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "before run", f"ARG {fake_runtime}", f"ARG {tmp_path / 'service.py'}", "ARG --port", "ARG 0",
    ]


def test_run_from_main_finds_runtime_on_path(tmp_path, fake_runtime):
    bin_dir = tmp_path / "empty-bin"
    bin_dir.mkdir()
    os.symlink(fake_runtime, bin_dir / "mvi-runtime")
    (tmp_path / "service.py").write_text(LEGACY)
    result = run_python(["service.py"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"ARG {bin_dir / 'mvi-runtime'}", f"ARG {tmp_path / 'service.py'}"]


def test_run_without_runtime_is_a_clear_error(tmp_path):
    (tmp_path / "service.py").write_text(NEW_STYLE)
    result = run_python(["service.py"], tmp_path)
    assert result.returncode == 1
    assert "RuntimeError: service.run(): mvi-runtime not found (looked at " in result.stderr
    assert "and PATH); build it with the README's commands, install it, or set MVI_RUNTIME_BIN" in result.stderr
    assert "not reached" not in result.stdout


def test_run_finds_the_runtime_built_beside_the_package(tmp_path, fake_runtime):
    # the source tree's layout: python/mvi beside build/mvi-runtime
    (tmp_path / "service.py").write_text(NEW_STYLE)
    run_python(["-c", "pass"], tmp_path)  # makes tmp_path/pkg
    os.makedirs(tmp_path / "build")
    os.symlink(fake_runtime, tmp_path / "build" / "mvi-runtime")
    os.rename(tmp_path / "pkg", tmp_path / "python")
    result = subprocess.run([sys.executable, "service.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={**{k: v for k, v in os.environ.items() if k != "MVI_RUNTIME_BIN"},
                                 "PYTHONPATH": str(tmp_path / "python"), "PATH": str(tmp_path / "empty-bin")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == f"ARG {tmp_path / 'build' / 'mvi-runtime'}", result.stdout


def test_run_with_bad_runtime_bin(tmp_path):
    (tmp_path / "service.py").write_text(NEW_STYLE)
    result = run_python(["service.py"], tmp_path, MVI_RUNTIME_BIN=str(tmp_path / "missing"))
    assert result.returncode == 1
    assert "is not an executable file" in result.stderr


def test_legacy_unguarded_run_does_nothing_when_imported(tmp_path, fake_runtime):
    (tmp_path / "service.py").write_text(LEGACY)
    code = "import service; print(service.hello('Bob')); print(service.mvi.hello('World'))"
    result = run_python(["-c", code], tmp_path, MVI_RUNTIME_BIN=fake_runtime)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Hello Bob", "Greeting failed"]
    assert "Someone is trying to greet the World" in result.stderr  # notify() fell back to logging


def test_legacy_import_in_process(tmp_path, monkeypatch):
    # if run() wrongly tried to exec, the missing binary makes it raise instead of replacing pytest
    monkeypatch.setenv("MVI_RUNTIME_BIN", str(tmp_path / "missing"))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "legacy_service_mod.py").write_text(LEGACY)
    try:
        import legacy_service_mod
    finally:
        sys.modules.pop("legacy_service_mod", None)
    assert legacy_service_mod.hello("Bob") == "Hello Bob"
    assert service.get_parameters() == {"greeting_phrase": "Hello"}


def test_run_in_process_calls_execv(tmp_path, monkeypatch, fake_runtime):
    calls = []
    monkeypatch.setenv("MVI_RUNTIME_BIN", fake_runtime)
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append((path, argv)))
    monkeypatch.setattr(sys, "argv", ["svc.py", "--port", "9000"])
    exec("service.run()", {"__name__": "__main__", "__file__": "svc.py", "service": service})
    assert calls == [(fake_runtime, [fake_runtime, os.path.abspath("svc.py"), "--port", "9000"])]


def test_run_from_main_without_file(monkeypatch, tmp_path):
    monkeypatch.setenv("MVI_RUNTIME_BIN", str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="no service file"):
        exec("service.run()", {"__name__": "__main__", "service": service})


@pytest.fixture
def restore_interpreter_state(monkeypatch):
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    # under the runtime run() returns at once; the fake native module stands in for it
    monkeypatch.setitem(sys.modules, "_mvi_native", types.ModuleType("_mvi_native"))


def test_load_service_runs_file_as_main(tmp_path, restore_interpreter_state):
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "greeting_helper_mod.py").write_text("GREETING = 'Hi'\n")
    (folder / "service.py").write_text(textwrap.dedent("""
        import sys
        from greeting_helper_mod import GREETING
        from mvi import service

        @service.entrypoint(method="GET")
        def hello(name: str) -> str:
            '''Greets.'''
            return f"{GREETING} {name}"

        seen = None
        if __name__ == "__main__":
            seen = (__file__, list(sys.argv), sys.path[0], __spec__, __cached__)
            service.run()
    """))
    try:
        export = _loader.load_service(os.path.relpath(folder / "service.py"))
    finally:
        sys.modules.pop("greeting_helper_mod", None)
    path = str(folder / "service.py")
    main = sys.modules["__main__"]
    assert main.seen == (path, [path], str(folder), None, None)
    assert main.__loader__.path == path
    (entry,) = export["entrypoints"]
    assert entry["name"] == "hello" and entry["method"] == "GET" and entry["description"] == "Greets."
    assert entry["function"]("Bob") == "Hi Bob"
    assert export["jobs"] == []


def test_load_service_propagates_exceptions(tmp_path, restore_interpreter_state):
    (tmp_path / "broken.py").write_text("x = 1\n1 / 0\n")
    with pytest.raises(ZeroDivisionError) as info:
        _loader.load_service(str(tmp_path / "broken.py"))
    assert info.traceback[-1].path == tmp_path / "broken.py"


def test_load_service_reports_registration_errors(tmp_path, restore_interpreter_state):
    (tmp_path / "bad.py").write_text("from mvi import service\n@service.entrypoint\ndef status(): pass\n")
    with pytest.raises(ValueError, match="entrypoint 'status'"):
        _loader.load_service(str(tmp_path / "bad.py"))


def test_load_errors_are_formatted_with_the_users_frames_only(tmp_path):
    (tmp_path / "svc_with_typo.py").write_text("from mvi import service\nservice.add_parameter('bad name', 1)\n")
    try:
        _loader.load_service(str(tmp_path / "svc_with_typo.py"))
    except ValueError as exc:
        text = "".join(_loader.format_error(type(exc), exc, exc.__traceback__))
    else:
        raise AssertionError("the bad parameter name was accepted")
    assert 'svc_with_typo.py", line 2, in <module>' in text, text
    assert "mvi" + os.sep + "_" not in text, text  # neither _loader.py nor _service.py
    assert text.rstrip().endswith("got 'bad name'"), text


def test_load_errors_keep_every_frame_when_all_are_mvis():
    # code "from" mvi's own file raising: a bug of ours, whose frames must not all vanish
    try:
        exec(compile("raise KeyError('x')", _loader.__file__, "exec"), {})
    except KeyError as exc:
        only_mvi = exc.__traceback__.tb_next  # without this test's own frame
        text = "".join(_loader.format_error(type(exc), exc, only_mvi))
    assert f'File "{_loader.__file__}", line 1' in text and "KeyError: 'x'" in text, text
