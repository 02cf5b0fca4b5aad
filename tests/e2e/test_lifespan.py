"""@service.on_startup / @service.on_shutdown (SPEC §2.1): startup functions run after the import and before the
service is ready, in every interpreter; shutdown functions run when an interpreter stops (SIGTERM, a recycled
worker), and one that raises is logged without stopping the others; a startup function that raises stops the start
with its traceback (exit 3)."""

import re
import signal

import pytest

from conftest import SERVICES_DIR

SERVICE = SERVICES_DIR / "lifespan" / "service.py"


@pytest.mark.parametrize("mode", [[], ["--workers", "2"]], ids=["in-process", "workers"])
def test_startup_runs_before_ready_and_shutdown_at_sigterm(start_service, mode):
    svc = start_service(SERVICE, "--drain-delay", "0", *mode)
    if mode:
        assert svc.wait_for_output(r"worker 1 \(pid \d+\) is running", 10), svc.describe()
    r = svc.request("POST", "/model", json={})
    assert r.status == 200 and r.body["model"] == "loaded", r
    assert svc.request("POST", "/ping", json={}).body == "pong"
    out = svc.output()
    sync_pids = re.findall(r"lifespan: startup sync in (\d+)", out)
    async_pids = re.findall(r"lifespan: startup async in (\d+)", out)
    expected = 2 if mode else 1
    assert len(sync_pids) == expected and sorted(sync_pids) == sorted(async_pids), out
    if not mode:
        assert sync_pids == [str(svc.proc.pid)]
        # before ready: the startup lines precede the line that says the service is ready
        assert out.index("startup async in") < out.index("ready:"), out
    svc.signal(signal.SIGTERM)
    assert svc.wait(15) == 0, svc.describe()
    out = svc.output()
    for pid in sync_pids:
        assert f"lifespan: shutdown sync in {pid}" in out, out
        assert f"lifespan: shutdown async in {pid}" in out, out
    assert out.count("shutdown failure marker 3b9a") >= expected, out  # logged, and the next one still ran
    assert re.search(r"ERROR +mvi.runtime: on_shutdown function 'broken' raised", out), out


def test_a_recycled_worker_runs_its_shutdown_functions(start_service):
    svc = start_service(SERVICE, "--drain-delay", "0", "--workers", "1", "--max-requests", "3")
    first = svc.request("POST", "/model", json={}).body["pid"]
    for _ in range(3):
        assert svc.request("POST", "/model", json={}).status == 200
    assert svc.wait_for_output(rf"lifespan: shutdown async in {first}", 10), svc.describe()
    assert svc.wait_for_output(r"lifespan: startup async in (?!%d)\d+" % first, 10), svc.describe()


@pytest.mark.parametrize("mode", [[], ["--workers", "2"]], ids=["in-process", "workers"])
def test_a_startup_function_that_raises_stops_the_start(start_service, mode):
    svc = start_service(SERVICE, *mode, env={"LIFESPAN_FAIL": "1"}, wait=False)
    assert svc.wait(20) == 3, svc.describe()
    out = svc.output()
    assert "startup failure marker 7d1e" in out and "Traceback" in out, out
    assert "shutdown sync" not in out, "shutdown functions run only after a start that succeeded"
