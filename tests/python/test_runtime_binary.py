"""mvi._runtime_binary.find_runtime (SPEC §13): MVI_RUNTIME_BIN wins, then beside the package (an installed tree's
bin/, a source tree's build/), then PATH; a clear error naming where it looked."""

import os

import pytest

from mvi import _runtime_binary


def executable(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A fake package location; nothing found anywhere unless a test puts it there."""
    monkeypatch.delenv("MVI_RUNTIME_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    def place(root):
        (root / "mvi").mkdir(parents=True)  # the package's folder exists, as a real one does
        monkeypatch.setattr(_runtime_binary, "__file__", str(root / "mvi" / "_runtime_binary.py"))
    return place


def test_an_installed_tree(tmp_path, package):
    package(tmp_path / "prefix" / "share" / "mvi-runtime" / "python")
    binary = executable(tmp_path / "prefix" / "bin" / "mvi-runtime")
    assert _runtime_binary.find_runtime("t") == binary


def test_a_source_tree(tmp_path, package):
    package(tmp_path / "repo" / "python")
    binary = executable(tmp_path / "repo" / "build" / "mvi-runtime")
    assert _runtime_binary.find_runtime("t") == binary


def test_path_then_the_override(tmp_path, package, monkeypatch):
    package(tmp_path / "nowhere")
    on_path = executable(tmp_path / "bin" / "mvi-runtime")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert _runtime_binary.find_runtime("t") == on_path
    override = executable(tmp_path / "other" / "mvi-runtime")
    monkeypatch.setenv("MVI_RUNTIME_BIN", os.path.relpath(override))
    assert _runtime_binary.find_runtime("t") == override  # relative is made absolute


def test_errors_name_the_caller_and_the_places(tmp_path, package, monkeypatch):
    package(tmp_path / "repo" / "python")
    with pytest.raises(RuntimeError, match=r"TestClient: mvi-runtime not found \(looked at .*build/mvi-runtime"):
        _runtime_binary.find_runtime("TestClient")
    monkeypatch.setenv("MVI_RUNTIME_BIN", str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="is not an executable file"):
        _runtime_binary.find_runtime("TestClient")
