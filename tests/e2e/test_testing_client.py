"""mvi.testing.TestClient (issue 16, SPEC §2.5): the real runtime behind FastAPI's client shape, a pytest fixture
that starts one runtime per module, and a clear failure with the traceback when the service does not import."""

import sys
import threading

import pytest

from conftest import REPO, SERVICES_DIR

sys.path.insert(0, str(REPO / "python"))  # the package a user's tests import (after `cmake --install`: its copy)
from mvi.testing import TestClient, client_fixture  # noqa: E402

client = client_fixture(SERVICES_DIR / "daeploy_examples" / "notifications_example" / "service.py")


def test_a_round_trip_with_the_production_answers(client):
    r = client.post("/hello", json={"name": "Ada"})
    assert r.status_code == 200 and r.json() == "Hello Ada", r.text
    assert r.headers["content-type"] == "application/json; charset=utf-8" and "X-Request-ID" in r.headers
    r = client.post("/hello", json={"name": 5})
    assert r.status_code == 422, r.text  # the runtime's own validation (pydantic v2: 5 is not a str)
    assert r.json()["detail"][0]["loc"] == ["body", "name"]
    r = client.post("/hello", json={"name": "World"})
    assert r.status_code == 403 and r.json() == {"detail": "Trying to greet world. Too time consuming!"}
    listed = client.get("/notifications").json()
    assert [n["msg"] for n in listed] == ["Trying to greet world. Too time consuming!"], listed
    assert client.wait_for_output(r"Greeting someone with the name: Ada \[entrypoint=hello")


def test_query_parameters_raw_content_and_threads(client):
    assert client.get("/openapi.json", params={"x": "1"}).json()["info"]["title"].startswith("service ")
    r = client.post("/hello", content=b'{"name": "Raw"}', headers={"Content-Type": "application/json"})
    assert r.json() == "Hello Raw"
    answers = []
    threads = [threading.Thread(target=lambda i=i: answers.append(client.post("/hello", json={"name": str(i)})))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(a.json() for a in answers) == sorted(f"Hello {i}" for i in range(8))


def test_a_service_that_does_not_import_fails_with_its_traceback():
    with pytest.raises(RuntimeError) as raised:
        with TestClient(SERVICES_DIR / "import_error" / "service.py", startup_timeout=20):
            pass
    message = str(raised.value)
    assert "exited with status" in message and "Traceback" in message, message


def test_extra_options_and_the_service_folder(tmp_path):
    with TestClient(SERVICES_DIR / "params", "--name", "named") as c:  # a folder means its service.py
        assert c.get("/status").json()["name"] == "named"
        assert c.post("/parameters/count", json={"count": 9}).json() == {"count": 9}
        assert c.post("/current", json={"name": "count"}).json() == 9
    assert c.port is not None and c._process is None  # stopped on leaving the block
