"""mvi.cli: name validation, template rendering, project creation and main()'s exit codes (no subprocess
except for `python3 -m mvi`). The end-to-end side (build/mvi, the generated service served and tested) is in
tests/e2e/test_mvi_init.py."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mvi import cli

REPO = Path(__file__).resolve().parents[2]

# Seed 001's "Full Code": what `mvi init` must write to service.py, byte for byte.
SEED_SERVICE = '''import logging
from mvi import service
from mvi.communication import Severity, notify

logger = logging.getLogger(__name__)

service.add_parameter("greeting_phrase", "Hello")

@service.entrypoint
def hello(name: str) -> str:
    greeting_phrase = service.get_parameter("greeting_phrase")
    if name == "World":
        notify(
            msg="Someone is trying to greet the World, too time consuming. Skipping!",
            severity=Severity.WARNING,
        )
        return "Greeting failed"
    logger.info(f"Greeting someone with the name: {name}")
    return f"{greeting_phrase} {name}"


if __name__ == '__main__':
    service.run()
'''

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


def files_under(folder):
    return {p.relative_to(folder).as_posix() for p in Path(folder).rglob("*") if p.is_file()}


# ---- names ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["demo", "my_project", "_x", "__", "A1", "a_1_b", "Service", "x" * 200])
def test_valid_names(name):
    assert cli.is_valid_name(name)
    cli.check_name(name)  # no exception


@pytest.mark.parametrize(
    "name",
    ["", "a", "_", "1abc", "9", "my-project", "my project", "a.b", "../x", "a/b", "dé", "demo\n", " demo",
     "x\x00y", None, 42],
)
def test_invalid_names(name):
    assert not cli.is_valid_name(name)
    with pytest.raises(cli.CliError) as info:
        cli.check_name(name)
    assert info.value.code == cli.EXIT_USAGE
    assert repr(name) in str(info.value) and cli.NAME_PATTERN in str(info.value)


def test_pattern_is_the_spec_one():
    assert cli.NAME_PATTERN == r"^[_a-zA-Z][_a-zA-Z0-9]+$"
    for name in ["ab", "a-b", "1a", "_1", "a"]:
        assert cli.is_valid_name(name) == bool(re.match(cli.NAME_PATTERN, name)), name


# ---- templates ------------------------------------------------------------------------------------------------

def test_render_replaces_only_the_placeholder():
    assert cli.render("# {{name}}\n{{ name }} {name} {{name}}", "demo") == "# demo\n{{ name }} {name} demo"


def test_template_files_cover_the_layout():
    rels = [rel for rel, _ in cli.template_files()]
    assert set(rels) == EXPECTED_FILES
    assert rels == sorted(rels)

    def covers(entry, rel):
        return rel == entry or (entry.endswith("/") and rel.startswith(entry))

    # the success message's list (LAYOUT) names every generated file, and names nothing else
    assert all(any(covers(entry, rel) for entry in cli.LAYOUT) for rel in rels)
    assert all(any(covers(entry, rel) for rel in rels) for entry in cli.LAYOUT)


def test_template_files_empty_dir_is_an_error(tmp_path):
    with pytest.raises(cli.CliError, match="no project templates"):
        cli.template_files(tmp_path)


def test_service_template_is_the_seed():
    files = cli.render_project("demo")
    assert files["service.py"] == SEED_SERVICE
    assert (REPO / "examples" / "hello" / "service.py").read_text() == SEED_SERVICE
    compile(files["service.py"], "service.py", "exec")


def test_rendered_project_contents():
    files = cli.render_project("my_first_mvi_project")
    assert set(files) == EXPECTED_FILES
    assert files[".s2i/environment"] == "APP_FILE = service.py\n"
    assert files["README.md"].startswith("# my_first_mvi_project\n")
    assert all("{{" not in text for text in files.values())
    for rel in ("tests/conftest.py", "tests/test_service.py"):
        compile(files[rel], rel, "exec")
    tests = files["tests/test_service.py"]
    assert "import service" in tests and 'service.hello("Bob")' in tests and 'service.hello("World")' in tests
    assert len(re.findall(r"^def test_", tests, re.M)) >= 2
    assert all(not line.strip() or line.lstrip().startswith("#") for line in files["requirements.txt"].splitlines())
    assert "tests" in files[".s2iignore"].splitlines()


def test_render_project_checks_the_name():
    with pytest.raises(cli.CliError):
        cli.render_project("1bad")


# ---- creating -------------------------------------------------------------------------------------------------

def test_create_project_writes_every_file(tmp_path):
    target = cli.create_project("demo", tmp_path)
    assert target == tmp_path / "demo"
    assert files_under(target) == EXPECTED_FILES
    assert (target / "service.py").read_bytes() == SEED_SERVICE.encode()
    assert (target / ".s2i" / "environment").read_text() == "APP_FILE = service.py\n"


def test_create_project_refuses_an_existing_folder(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "mine.txt").write_text("keep")
    with pytest.raises(cli.CliError, match="already exists") as info:
        cli.create_project("demo", tmp_path)
    assert info.value.code == cli.EXIT_FAILED
    assert files_under(tmp_path / "demo") == {"mine.txt"}


def test_create_project_force_keeps_other_files(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "mine.txt").write_text("keep")
    (tmp_path / "demo" / "service.py").write_text("old")
    cli.create_project("demo", tmp_path, force=True)
    assert files_under(tmp_path / "demo") == EXPECTED_FILES | {"mine.txt"}
    assert (tmp_path / "demo" / "mine.txt").read_text() == "keep"
    assert (tmp_path / "demo" / "service.py").read_text() == SEED_SERVICE


def test_create_project_refuses_a_file_even_with_force(tmp_path):
    (tmp_path / "demo").write_text("a file")
    for force in (False, True):
        with pytest.raises(cli.CliError, match="not a folder"):
            cli.create_project("demo", tmp_path, force=force)
    assert (tmp_path / "demo").read_text() == "a file"


def test_create_project_removes_a_half_written_folder(tmp_path, monkeypatch):
    real_open = open

    def failing_open(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).endswith("README.md"):
            raise OSError(28, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(cli.CliError, match="No space left"):
        cli.create_project("demo", tmp_path)
    assert not (tmp_path / "demo").exists()


# ---- main() ---------------------------------------------------------------------------------------------------

def run_main(argv, answers=None, cwd=None):
    """main(argv) in cwd; answers: what the prompt reads (None = the prompt must not be shown)."""
    out, err, prompts = io.StringIO(), io.StringIO(), []

    def read(prompt):
        prompts.append(prompt)
        if answers is None:
            raise AssertionError("unexpected prompt")
        if not answers:
            raise EOFError
        return answers.pop(0)

    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = cli.main(argv, read=read, out=out, err=err)
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue(), prompts


def test_main_init_with_name(tmp_path):
    code, out, err, _ = run_main(["init", "demo", "-n"], cwd=tmp_path)
    assert code == 0, err
    assert files_under(tmp_path / "demo") == EXPECTED_FILES
    assert "Created demo/" in out and "cd demo" in out
    for entry in cli.LAYOUT:
        assert entry in out


def test_main_name_without_no_input_does_not_prompt(tmp_path):
    code, _, err, _ = run_main(["init", "demo"], cwd=tmp_path)
    assert code == 0, err


def test_main_no_input_without_name_uses_default(tmp_path):
    code, _, err, _ = run_main(["init", "--no-input"], cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "my_project" / "service.py").is_file()


@pytest.mark.parametrize("answer, folder", [("proj", "proj"), ("  proj2 ", "proj2"), ("", "my_project")])
def test_main_prompts_for_the_name(tmp_path, answer, folder):
    code, _, err, prompts = run_main(["init"], answers=[answer], cwd=tmp_path)
    assert code == 0, err
    assert prompts == ["project_name [my_project]: "]
    assert [p.name for p in tmp_path.iterdir()] == [folder]


def test_main_prompt_end_of_input_is_a_usage_error(tmp_path):
    code, _, err, _ = run_main(["init"], answers=[], cwd=tmp_path)
    assert code == 2
    assert "no answer" in err and "-n" in err
    assert list(tmp_path.iterdir()) == []


def test_main_prompt_bad_answer(tmp_path):
    code, _, err, _ = run_main(["init"], answers=["my-proj"], cwd=tmp_path)
    assert code == 2 and "'my-proj' is not a valid project name" in err
    assert list(tmp_path.iterdir()) == []


def test_main_bad_name(tmp_path):
    code, out, err, _ = run_main(["init", "1demo", "-n"], cwd=tmp_path)
    assert code == 2 and out == ""
    assert err.startswith("mvi init: error: '1demo' is not a valid project name")
    assert list(tmp_path.iterdir()) == []


def test_main_existing_folder(tmp_path):
    (tmp_path / "demo").mkdir()
    code, _, err, _ = run_main(["init", "demo", "-n"], cwd=tmp_path)
    assert code == 1 and "already exists" in err and "--force" in err
    assert list((tmp_path / "demo").iterdir()) == []
    code, _, err, _ = run_main(["init", "demo", "-n", "--force"], cwd=tmp_path)
    assert code == 0, err
    assert files_under(tmp_path / "demo") == EXPECTED_FILES


def test_main_without_command(tmp_path):
    code, _, err, _ = run_main([], cwd=tmp_path)
    assert code == 2 and "a command is required" in err


def test_main_unknown_option_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["init", "demo", "--bogus"])
    assert info.value.code == 2
    assert "--bogus" in capsys.readouterr().err


def test_main_interrupted_at_the_prompt(tmp_path):
    def read(prompt):
        raise KeyboardInterrupt

    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = cli.main(["init"], read=read, out=io.StringIO(), err=io.StringIO())
    finally:
        os.chdir(old)
    assert code == 130 and list(tmp_path.iterdir()) == []


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mvi {cli.__version__}"
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    assert "init" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["init", "--help"])
    text = capsys.readouterr().out
    assert "--no-input" in text and "--force" in text and "NAME" in text


def test_version_matches_the_runtime():
    header = (REPO / "include" / "mvi" / "version.hpp").read_text()
    assert f'kVersion = "{cli.__version__}"' in header
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert re.search(rf"project\(mvi_runtime VERSION {re.escape(cli.__version__)}\b", cmake)


def test_python_dash_m_mvi(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-m", "mvi", "init", "demo", "-n"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "demo") == EXPECTED_FILES
    result = subprocess.run([sys.executable, "-m", "mvi", "--version"], env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0 and result.stdout.strip() == f"mvi {cli.__version__}"
