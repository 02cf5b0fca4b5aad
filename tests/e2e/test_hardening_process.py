"""Process-level hardening (SPEC §8, §9): a second signal exits at once, the runtime works as PID 1 of a PID
namespace, a signal during a slow import ends the process promptly, and it serves as an unprivileged user from a
read-only service folder. The first-SIGTERM behaviours (drain, in-flight requests, graceful timeout) are in
test_runtime_core.py.
"""

import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import _LIVE, REPO, ServiceProcess, child_env
from rawhttp import RawConnection, exchange, get, post_json

SERVICES = Path(__file__).resolve().parent / "services"
SERVICE = SERVICES / "hardening_basic" / "service.py"
SLOW_IMPORT = SERVICES / "hardening_slow_import" / "service.py"
CLOSE = ("Connection", "close")


def spawn(request, argv, cwd, env=None):
    """A ServiceProcess for an arbitrary command line (the launcher only runs the binary directly); stopped at teardown."""
    svc = ServiceProcess(argv, child_env(env), cwd)
    _LIVE.add(svc)

    def stop():
        try:
            svc.stop()
        finally:
            _LIVE.discard(svc)

    request.addfinalizer(stop)
    return svc


def in_flight(port, seconds):
    """Start POST /sleep_for on a raw connection; returns (thread, box) with box['resp'] or box['error']."""
    box = {}

    def run():
        try:
            with RawConnection(port, timeout=15) as conn:
                conn.send(post_json("/sleep_for", {"seconds": seconds}))
                box["resp"] = conn.read_response(15)
        except Exception as exc:  # reported by the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


# ----------------------------------------------------------------------------------------------------------------
# Signals


@pytest.mark.parametrize(
    "second, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)], ids=["TERM", "INT", "HUP"]
)
def test_a_second_signal_exits_at_once(start_service, second, code):
    svc = start_service(SERVICE, "--drain-delay", "5", "--graceful-timeout", "30")
    thread, _ = in_flight(svc.port, 5)
    time.sleep(0.3)
    svc.signal(signal.SIGTERM)
    time.sleep(0.3)
    assert svc.proc.poll() is None, f"the first SIGTERM must start a graceful stop, not exit\n{svc.describe()}"
    sent = time.monotonic()
    svc.signal(second)
    exit_code = svc.wait(2.0)
    elapsed = time.monotonic() - sent
    assert exit_code is not None, f"still running 2 s after a second signal\n{svc.describe()}"
    assert exit_code == code, f"exit code after a second {second.name}: {exit_code}, expected {code}\n{svc.describe()}"
    assert elapsed < 1.0, f"the second signal took {elapsed:.2f} s to end the process"
    thread.join(5)


def test_signal_during_a_slow_import_exits_promptly(start_service):
    svc = start_service(SLOW_IMPORT, "--drain-delay", "5", wait=False)
    assert svc.wait_for_output(r"bound http://", timeout=10), f"no 'bound' line\n{svc.describe()}"
    time.sleep(0.5)  # inside time.sleep(10) of the service's import
    # /health/live answers while user code imports; the service is not ready yet
    bound = svc.wait_for_output(r"bound http://[^:\s]+:(\d+)", timeout=1)
    port = int(bound.group(1))
    live = exchange(port, get("/health/live", [CLOSE]))[0]
    ready = exchange(port, get("/health/ready", [CLOSE]))[0]
    assert [r.status for r in live] == [200] and [r.status for r in ready] == [503], (live, ready)
    sent = time.monotonic()
    svc.signal(signal.SIGTERM)
    exit_code = svc.wait(2.0)
    elapsed = time.monotonic() - sent
    assert exit_code is not None, f"still importing 2 s after SIGTERM\n{svc.describe()}"
    assert exit_code == 143, f"exit code: {exit_code}\n{svc.describe()}"
    assert elapsed < 2.0, f"exit took {elapsed:.2f} s"


def namespace_child(unshare_pid, timeout=5.0):
    """The pid (in our namespace) of the process `unshare --fork` started, once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read_text().split()
        except OSError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.05)
    return None


def ns_pids(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return line.split()[1:]
    return []


def can_unshare_pid():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-pf", "--mount-proc", "true"], capture_output=True, timeout=10)
    return probe.returncode == 0


# Isolated mode too (issue 13): the front as PID 1 starts, supervises and reaps its workers.
MODES = pytest.mark.parametrize("process_mode", [[], ["--workers", "2"]], ids=["in-process", "workers"])


@pytest.mark.skipif(not can_unshare_pid(), reason="needs root and unshare -pf --mount-proc (util-linux)")
@MODES
def test_works_as_pid_1(request, runtime_bin, process_mode):
    argv = ["unshare", "-pf", "--mount-proc", runtime_bin, "--host", "127.0.0.1", "--port", "0",
            "--drain-delay", "0", *process_mode, str(SERVICE)]
    svc = spawn(request, argv, REPO, {"MVI_RUNTIME_BIN": runtime_bin})
    svc.wait_listening()
    child = namespace_child(svc.proc.pid)
    assert child, "unshare started no child"
    assert ns_pids(child)[-1:] == ["1"], f"the runtime is not PID 1 in its namespace: NSpid {ns_pids(child)}"

    assert exchange(svc.port, post_json("/echo", {"n": 1}, [CLOSE]))[0][0].status == 200
    thread, box = in_flight(svc.port, 1.0)
    time.sleep(0.3)
    os.kill(child, signal.SIGTERM)  # as a container runtime does: from outside the namespace, to PID 1
    thread.join(10)
    assert "resp" in box and box["resp"].status == 200 and box["resp"].json == 1.0, (
        f"the in-flight request after SIGTERM to PID 1: {box!r}\n{svc.describe()}"
    )
    exit_code = svc.wait(10)
    assert exit_code == 0, f"exit code of PID 1 after SIGTERM: {exit_code}\n{svc.describe()}"
    assert "stopped" in svc.output(), svc.describe()


# ----------------------------------------------------------------------------------------------------------------
# Unprivileged, read-only


def readable_by_nobody(paths):
    checks = " && ".join(f"test -r '{p}'" for p in paths)
    probe = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-c", checks],
        capture_output=True, timeout=10,
    )
    return probe.returncode == 0


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv (util-linux)")
@MODES
def test_runs_as_nobody_from_a_read_only_folder(request, runtime_bin, process_mode):
    # Not pytest's tmp_path: its parent folders are private to root.
    tmp_path = Path(tempfile.mkdtemp(prefix="mvi-nobody-"))
    request.addfinalizer(lambda: shutil.rmtree(tmp_path, ignore_errors=True))
    os.chmod(tmp_path, 0o755)
    binary, package = Path(runtime_bin), REPO / "python"
    if not readable_by_nobody([binary, package / "mvi" / "__init__.py"]):
        # The build tree is private: give nobody its own copy of the binary and the mvi package.
        (tmp_path / "bin").mkdir(mode=0o755)
        shutil.copy2(binary, tmp_path / "bin" / "mvi-runtime")
        shutil.copytree(package / "mvi", tmp_path / "python" / "mvi", ignore=shutil.ignore_patterns("__pycache__"))
        binary, package = tmp_path / "bin" / "mvi-runtime", tmp_path / "python"
        for path in [tmp_path / "bin", binary, *(tmp_path / "python").rglob("*"), tmp_path / "python"]:
            path.chmod(0o755)
    folder = tmp_path / "service"
    shutil.copytree(SERVICE.parent, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for path in [*folder.rglob("*"), folder]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
                   | (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH if path.is_dir() else 0))

    argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
            str(binary), "--host", "127.0.0.1", "--port", "0", "--drain-delay", "0", *process_mode, "service.py"]
    # Bytecode writing stays on: Python must cope with a folder it cannot write to.
    env = {"MVI_PYTHON_PACKAGE_DIR": str(package), "PYTHONDONTWRITEBYTECODE": None, "HOME": "/nonexistent",
           "PYTHONPATH": None}
    svc = spawn(request, argv, folder, env)
    svc.wait_listening()

    uid = next(line.split()[1] for line in Path(f"/proc/{svc.proc.pid}/status").read_text().splitlines()
               if line.startswith("Uid:"))
    assert uid == str(subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True).stdout.strip()), uid
    echo = exchange(svc.port, post_json("/echo", {"n": 4, "label": "ro"}, [CLOSE]))[0]
    assert [r.status for r in echo] == [200] and echo[0].json == {"n": 4, "label": "ro", "ratio": 1.0}, echo
    changed = exchange(svc.port, post_json("/parameters/threshold", {"threshold": 0.9}, [CLOSE]))[0]
    assert [r.status for r in changed] == [200], changed
    for path in ("/health/ready", "/parameters", "/logs", "/openapi.json", "/status"):
        responses = exchange(svc.port, get(path, [CLOSE]))[0]
        assert [r.status for r in responses] == [200], f"{path}: {responses!r}"
    assert not (folder / "__pycache__").exists(), "something was written into the read-only folder"
    assert svc.stop() == 0, svc.describe()
