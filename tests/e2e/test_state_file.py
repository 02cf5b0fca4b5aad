"""`--state file:PATH` (issue 14, SPEC §10): parameters and notifications survive a restart, also `kill -9` right
after a POST answered; generations go on; a stored value that no longer fits the code's type falls back to the
code's value with a warning and a notification; a parameter the code no longer declares is kept for later; a
second daemon on the same file is refused; isolated mode (the front owns the file) restores the same way."""

import signal

import pytest

SERVICE = '''
from mvi import service
from mvi.communication import Severity, notify

service.add_parameter("limit", {limit!r})
service.add_parameter("label", "a")
{extra}

@service.entrypoint
def read() -> dict:
    return {{"limit": service.get_parameter("limit"), "label": service.get_parameter("label")}}


@service.entrypoint
def warn(msg: str) -> str:
    notify(msg, Severity.WARNING)
    return msg
'''


def write_service(folder, limit=10, extra=""):
    path = folder / "service.py"
    path.write_text(SERVICE.format(limit=limit, extra=extra))
    return path


def post(svc, name, value):
    return svc.request("POST", f"/parameters/{name}", json={name: value})


@pytest.mark.parametrize("mode", [(), ("--workers", "1")], ids=["in-process", "workers"])
def test_a_post_that_answered_survives_kill_9(start_service, tmp_path, mode):
    path = write_service(tmp_path)
    state = f"file:{tmp_path / 'data' / 'state.db'}"
    svc = start_service.start(path, "--state", state, *mode)
    r = post(svc, "label", "b")
    assert r.status == 200 and r.headers["X-Parameters-Generation"] == "1", r
    r = post(svc, "limit", 42)
    assert r.status == 200 and r.headers["X-Parameters-Generation"] == "2", r
    svc.kill()  # at once: no drain, no shutdown code
    assert svc.wait(10) is not None

    again = start_service.start(path, "--state", state, *mode)
    assert again.request("GET", "/parameters").body == {"limit": 42, "label": "b"}
    r = again.request("POST", "/read", json={})
    assert r.status == 200 and r.body == {"limit": 42, "label": "b"}, r
    assert r.headers["X-Parameters-Generation"] == "2", "the generation is restored"
    r = post(again, "limit", 43)
    assert r.headers["X-Parameters-Generation"] == "3", "and goes on"
    assert again.request("GET", "/status").body["state_backend"] == state


def test_notifications_survive_a_restart(start_service, tmp_path):
    path = write_service(tmp_path)
    state = f"file:{tmp_path / 'state.db'}"
    svc = start_service.start(path, "--state", state)
    for _ in range(3):
        assert svc.request("POST", "/warn", json={"msg": "disk almost full"}).status == 200
    svc.stop()
    again = start_service.start(path, "--state", state)
    kept = [n for n in again.request("GET", "/notifications").body if n["msg"] == "disk almost full"]
    assert len(kept) == 1 and kept[0]["counter"] == 3 and kept[0]["severity_name"] == "WARNING", kept
    assert again.request("POST", "/warn", json={"msg": "disk almost full"}).status == 200
    kept = [n for n in again.request("GET", "/notifications").body if n["msg"] == "disk almost full"]
    assert kept[0]["counter"] == 4, kept


def test_a_stored_value_that_no_longer_fits_falls_back_with_a_warning(start_service, tmp_path):
    state = f"file:{tmp_path / 'state.db'}"
    svc = start_service.start(write_service(tmp_path, extra='service.add_parameter("retired", 1)'), "--state", state)
    assert post(svc, "limit", 42).status == 200
    assert post(svc, "retired", 5).status == 200
    svc.stop()

    # The code changed: limit is a str now, retired is gone.
    svc = start_service.start(write_service(tmp_path, limit="ten"), "--state", state)
    assert svc.request("GET", "/parameters").body == {"limit": "ten", "label": "a"}
    assert svc.wait_for_output(r"WARNING.*stored value 42 of parameter 'limit' does not fit its type str"), \
        svc.describe()
    notes = [n for n in svc.request("GET", "/notifications").body if "stored value 42" in n["msg"]]
    assert len(notes) == 1 and notes[0]["severity_name"] == "WARNING", notes
    svc.stop()

    # And back: retired's value was kept although not served in between.
    svc = start_service.start(write_service(tmp_path, extra='service.add_parameter("retired", 1)'), "--state", state)
    assert svc.request("GET", "/parameters/retired").body == {"retired": 5}


def test_a_second_daemon_on_the_same_file_is_refused(start_service, tmp_path, run_cmd, runtime_bin):
    path = write_service(tmp_path)
    state = f"file:{tmp_path / 'state.db'}"
    first = start_service.start(path, "--state", state)
    assert post(first, "limit", 7).status == 200
    second = run_cmd([runtime_bin, "--host", "127.0.0.1", "--port", "0", "--state", state, str(path)], timeout=30)
    assert second.returncode == 2, second
    assert "in use by another mvi-runtime" in second.stderr, second.stderr
    assert first.request("GET", "/parameters/limit").body == {"limit": 7}, "the first one is untouched"
    assert post(first, "limit", 8).status == 200


def test_a_bad_state_option_is_a_usage_error(run_cmd, runtime_bin, tmp_path):
    path = write_service(tmp_path)
    for value, message in [("disk", "is not memory, file:PATH or redis://"), ("file:", "is not memory, file:PATH"),
                           ("rediss://localhost:6379/0", "has none"), ("redis://localhost:99999/0", "not a port"),
                           ("redis://localhost:6379/x", "is not a number")]:
        r = run_cmd([runtime_bin, "--state", value, str(path)], timeout=30)
        assert r.returncode == 2 and message in r.stderr, (value, r)
    (tmp_path / "folder").mkdir()
    r = run_cmd([runtime_bin, "--port", "0", "--state", f"file:{tmp_path / 'folder'}", str(path)], timeout=30)
    assert r.returncode == 2 and "a folder, not a file" in r.stderr, r
