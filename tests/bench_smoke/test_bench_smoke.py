"""The benchmark harness cannot rot: `bench/run.py --smoke` starts mvi-runtime and FastAPI/uvicorn, checks that
both answer every workload correctly and identically, and that wrk's output still parses. No numbers are judged.

Missing FastAPI, uvicorn or wrk is a failure, not a skip (scripts/setup.sh installs them)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"


def test_prerequisites_installed():
    missing = []
    if not shutil.which("wrk"):
        missing.append("wrk")
    probe = subprocess.run([PYTHON, "-c", "import fastapi, uvicorn"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        missing.append(f"python3-fastapi/python3-uvicorn ({why})")
    assert not missing, ("the benchmark needs " + ", ".join(missing)
                         + ": run scripts/setup.sh (apt-get install wrk python3-fastapi python3-uvicorn)")


def test_bench_smoke():
    env = dict(os.environ)
    binary = env.get("MVI_RUNTIME_BIN") or str(REPO / "build" / "mvi-runtime")
    assert Path(binary).is_file(), f"mvi-runtime binary not found at {binary} (set MVI_RUNTIME_BIN or build it)"
    try:
        proc = subprocess.run([PYTHON, str(REPO / "bench" / "run.py"), "--smoke", "--bin", binary],
                              capture_output=True, text=True, timeout=90, cwd=str(REPO), env=env)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"bench/run.py --smoke did not finish in 90 s:\n{exc.stdout}\n{exc.stderr}")
    sys.stdout.write(proc.stdout)
    assert proc.returncode == 0, f"bench/run.py --smoke failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert "both servers answered every workload correctly" in proc.stdout
