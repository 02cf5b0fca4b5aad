"""Daeploy's example services and the two services of its e2e suite (tests/e2e/services/daeploy_examples, ported by
renaming the import only), asserting what Daeploy's own tests asserted of them (issue 15, SPEC §2, §6, §7).
Where Daeploy's test read its manager's logs, the same facts are read from the runtime's log (its access line
`POST /hello 422` where uvicorn wrote `"POST /hello HTTP/1.1" 422 Unprocessable Entity`)."""

import csv
import json
import importlib.util
import io
import socket
import sys
import uuid
import zipfile
from datetime import datetime, timezone
from urllib.parse import quote

import pytest

from conftest import SERVICES_DIR, wait_until

EXAMPLES = SERVICES_DIR / "daeploy_examples"
QUICK_STOP = ("--drain-delay", "0")


def start(launcher, name, *args, env=None, tmp=None):
    extra = ("--monitor-db", str(tmp / f"{name}.db")) if tmp else ()
    return launcher(EXAMPLES / name / "service.py", "--name", name, "--service-version", "0.1.0", *QUICK_STOP,
                    *extra, *args, env=env)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def downstream(module_launcher, tmp_path_factory):
    return start(module_launcher, "downstream", tmp=tmp_path_factory.mktemp("downstream"))


@pytest.fixture(scope="module")
def upstream(module_launcher, downstream):
    env = {"MVI_SERVICE_DOWNSTREAM_URL": downstream.url("").rstrip("/"),
           "MVI_SERVICE_DOWNSTREAM_TYPO_URL": f"http://127.0.0.1:{closed_port()}"}
    return start(module_launcher, "upstream", env=env)


def log_has(svc, pattern, timeout=5.0):
    return svc.wait_for_output(pattern, timeout=timeout)


# ---- the e2e suite's downstream and upstream services ----------------------------------------------------------


def test_reaching_an_entrypoint(downstream):
    r = downstream.request("POST", "/hello", json={"name": "Ragnar Lothbrok"})
    assert r.status == 200 and r.body == "Hello Ragnar Lothbrok", r


def test_basemodel_arguments_and_return(downstream):
    body = {"name": {"name": "Someone", "sirname": "Someoneson"}, "info": {"age": 100, "height": 100}}
    r = downstream.request("POST", "/function_with_basemodel_args", json=body)
    assert r.status == 200, r
    assert r.body == {"age": 100, "height": 100, "name": "Someone", "sirname": "Someoneson"}


def test_disable_http_logs_in_an_entrypoint(downstream):
    assert downstream.request("POST", "/http_logs").status == 200
    assert downstream.request("POST", "/http_logs_2").status == 200
    assert log_has(downstream, r"This is a correct log!")
    assert log_has(downstream, r"mvi\.access: POST /http_logs_2 200")
    assert not log_has(downstream, r"mvi\.access: POST /http_logs \d+", timeout=0.3)


def test_call_service_multiple_cases(upstream, downstream):
    name = str(uuid.uuid1())
    r = upstream.request("POST", "/call_downstream_method",
                         json={"service_name": "downstream", "entrypoint_name": "hello", "arguments": {"name": name}})
    assert r.status == 200 and r.body == f"Hello {name}", r
    request_id = r.headers["X-Request-ID"]
    assert log_has(upstream, r"Calling entrypoint: hello in service: downstream")
    assert log_has(upstream, rf'Response from entrypoint: "Hello {name}", code: 200')
    # one request id spans both services, and the callee's access line names its caller
    assert log_has(downstream, rf"Greeting someone with the name: {name} \[entrypoint=hello request_id={request_id}\]")
    assert log_has(downstream, rf"POST /hello 200 \S+ from upstream/0\.1\.0 call_downstream_method "
                               rf"\[entrypoint=hello request_id={request_id}\]")

    cases = [  # (arguments, what the downstream log shows)
        ({"service_name": "downstream", "entrypoint_name": "hello", "arguments": {"name": [name, "Another Viking"]}},
         (downstream, r"POST /hello 422")),
        ({"service_name": "downstream", "entrypoint_name": "hello", "arguments": {"age": name}},
         (downstream, r"POST /hello 422")),
        ({"service_name": "downstream", "entrypoint_name": "hello_TYPO", "arguments": {"name": name}},
         (downstream, r"POST /hello_TYPO 404")),
        ({"service_name": "downstream_TYPO", "entrypoint_name": "hello", "arguments": {"name": name}},
         (upstream, r"cannot connect after 3 attempts")),
    ]
    for body, (svc, pattern) in cases:
        r = upstream.request("POST", "/call_downstream_method", json=body)
        assert r.status == 500, (body, r)
        assert log_has(svc, pattern), (body, svc.describe())
        assert log_has(upstream, rf"raised ServiceCallError.*request_id={r.headers['X-Request-ID']}")

    r = upstream.request("POST", "/call_downstream_get_method", json={"service_name": "downstream"})
    assert r.status == 200 and r.body == "Get - Got - Gotten", r

    r = downstream.request("GET", "/~parameters/silent_log")
    assert r.status == 200 and r.body is True, r
    assert not log_has(downstream, r"GET /~parameters/silent_log", timeout=0.3)


def test_a_raised_notification_is_listed_and_counted(downstream):
    # Daeploy's test read its manager's list; here the service's own /notifications, which lists no e-mails as []
    # (what it sends to a manager has Daeploy's null: docs/notifications.md)
    expected = {"service_name": "downstream", "service_version": "0.1.0", "msg": "Notification raised...",
                "severity": 1, "dashboard": True, "emails": [], "timer": 0}
    for counter in (1, 2):
        r = downstream.request("POST", "/raise_notification")
        assert r.status == 200 and r.body == "Done", r
        listed = [n for n in downstream.request("GET", "/notifications").body if n["msg"] == expected["msg"]]
        assert len(listed) == 1, listed
        assert {k: listed[0][k] for k in expected} == expected and listed[0]["counter"] == counter, listed


def test_the_docs_name_the_service_and_its_version(downstream):
    spec = downstream.request("GET", "/openapi.json").body
    assert spec["info"]["title"] == "downstream 0.1.0", spec["info"]  # Daeploy's title
    assert {"/~parameters", "/~parameters/greeting_phrase", "/~monitor", "/~monitor/csv", "/~monitor/db"} <= set(
        spec["paths"]), sorted(spec["paths"])
    docs = downstream.request("GET", "/docs", headers={"Accept": "text/html"})
    assert docs.status == 200 and "downstream" in docs.text and "0.1.0" in docs.text, docs


def test_monitored_variables_json(downstream):
    assert downstream.request("POST", "/store_variables_10_times", json={}).status == 200
    data = downstream.request("GET", "/~monitor").body
    assert "v1" in data and "v2" in data, data
    for v in ("v1", "v2"):
        assert list(data[v]) == ["timestamp", "value"]
        assert len(data[v]["timestamp"]) == len(data[v]["value"]) == 10
    last_ts, last_value = data["v1"]["timestamp"][-1], data["v1"]["value"][-1]
    # Daeploy's shapes: str(datetime) of naive UTC, numbers as floats
    assert datetime.strptime(last_ts, "%Y-%m-%d %H:%M:%S.%f") and last_value == 9.0 and isinstance(last_value, float)
    # the e2e test's own query: start as read back, end as str(utcnow()) (requests quotes its space as %20)
    now = str(datetime.now(timezone.utc).replace(tzinfo=None))
    r = downstream.request("GET", f"/~monitor?start={quote(last_ts)}&end={quote(now)}&variables=v1")
    assert r.status == 200 and list(r.body) == ["v1"], r
    assert r.body["v1"]["value"] == [last_value] and len(r.body["v1"]["timestamp"]) == 1, r
    # a query string's `+` is a space: the same times, unquoted
    r = downstream.request("GET", f"/~monitor?start={last_ts.replace(' ', '+')}&variables=v1")
    assert r.status == 200 and r.body["v1"]["value"] == [last_value], r


def test_monitored_variables_csv(downstream):
    assert downstream.request("POST", "/store_variable_vz_10_times", json={}).status == 200
    r = downstream.request("GET", "/~monitor/csv")
    assert r.status == 200 and r.headers["Content-Disposition"] == 'attachment; filename="csv_data.zip"', r
    archive = zipfile.ZipFile(io.BytesIO(r.raw))
    assert "vz.csv" in archive.namelist()
    lines = [line.split() for line in archive.read("vz.csv").decode().splitlines()]  # as Daeploy's test read it
    assert lines[0] == ["timestamp,value"] and len(lines) == 11, lines


def test_monitored_variables_db(downstream):
    assert downstream.request("POST", "/store_variables_10_times", json={}).status == 200
    r = downstream.request("GET", "/~monitor/db")
    assert r.status == 200 and r.raw.startswith(b"SQLite format"), r
    assert r.headers["Content-Disposition"] == 'attachment; filename="database.db"'


# ---- the examples ------------------------------------------------------------------------------------------------


def test_status_code_example(module_launcher):
    svc = start(module_launcher, "status_code_example")
    body = {"dict_name": "test", "content": {"content": "dict"}}
    assert svc.request("POST", "/create_new_dict", json=body).status == 201
    assert svc.request("POST", "/create_new_dict", json=body).status == 409
    r = svc.request("POST", "/get_dict", json={"dict_name": "test"})
    assert r.status == 200 and r.body == {"content": "dict"}, r


def test_notifications_example(module_launcher):
    svc = start(module_launcher, "notifications_example")
    r = svc.request("POST", "/hello", json={"name": "World"})
    assert r.status == 403 and r.body == {"detail": "Trying to greet world. Too time consuming!"}, r
    assert svc.request("POST", "/hello", json={"name": "Bengt"}).status == 200
    listed = svc.request("GET", "/notifications").body
    assert [n["msg"] for n in listed] == ["Trying to greet world. Too time consuming!"], listed


def test_ndarray_example(module_launcher):
    svc = start(module_launcher, "ndarray_service")
    r = svc.request("POST", "/array_sum", json={"array1": [1, 2, 3], "array2": [4, 5, 6]})
    assert r.status == 200 and r.body == [5, 7, 9], r


def test_row_sum_example(module_launcher):
    svc = start(module_launcher, "row_sum_service")
    r = svc.request("POST", "/calculate", json={"data": {"col1": [1, 2, 3], "col2": [4, 5, 6], "col3": [7, 8, 9]}})
    assert r.status == 200 and r.body == [12, 15, 18], r
    r = svc.request("POST", "/calculate",
                    json={"data": {"col1": [1, 2, 3], "col2": [4, "I am invalid", 6], "col3": [7, 8, 9]}})
    assert r.status == 422, r


def test_cross_service_example(module_launcher):
    die = start(module_launcher, "die_roller_service")
    yatzee = start(module_launcher, "yatzee_service",
                   env={"MVI_SERVICE_DIE_ROLLER_URL": die.url("").rstrip("/")})
    r = yatzee.request("POST", "/play")
    assert r.status == 200 and len(r.body) == 5 and r.body == sorted(r.body), r
    assert all(1 <= roll <= 6 for roll in r.body), r


# ---- Daeploy's unit tests of the examples: the service modules under plain python ------------------------------


def load(name):
    spec = importlib.util.spec_from_file_location(f"daeploy_example_{name}", EXAMPLES / name / "service.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def plain_python(monkeypatch):
    """The mvi package from python/ with a fresh registry: what a user's own pytest run sees."""
    monkeypatch.syspath_prepend(str(SERVICES_DIR.parent.parent.parent / "python"))
    from mvi import service
    service._reset()
    yield
    service._reset()


def test_examples_called_directly(plain_python):
    import numpy as np
    from mvi.testing import patch

    die_roller = load("die_roller_service")
    assert die_roller.roll_die() in range(1, 7)
    yatzee = load("yatzee_service")
    with patch(f"{yatzee.__name__}.call_service") as call_service:
        call_service.return_value = 4
        assert yatzee.play() == [4, 4, 4, 4, 4]
        call_service.assert_called()
    ndarray = load("ndarray_service")
    total = ndarray.array_sum([1, 2, 3], [4, 5, 6])
    assert isinstance(total, np.ndarray) and all(total == np.array([5, 7, 9]))
    notifications = load("notifications_example")
    with patch(f"{notifications.__name__}.notify") as notify:
        assert notifications.hello("Bengt") == "Hello Bengt" and not notify.called


# ---- the functions of Daeploy's SDK tests (tests/sdk_test/daeploy_test.py) ------------------------------------


@pytest.fixture(scope="module")
def sdk(module_launcher, tmp_path_factory):
    return start(module_launcher, "sdk_functions", tmp=tmp_path_factory.mktemp("sdk"))


def test_sdk_entrypoints_with_options_are_served(sdk):
    assert sdk.request("POST", "/valid_entrypoint_method_no_args").body == 10
    r = sdk.request("POST", "/valid_entrypoint_method_args", json={"name": "Rune", "age": 100})
    assert r.status == 222 and r.body == "hello", r
    assert sdk.request("POST", "/entrypoint_with_request_argument", json={"request": "x"}).body == 10


def test_sdk_array_types(sdk):
    r = sdk.request("POST", "/entrypoint_with_arrays", json={"arr1": [1, 2, 3, 4, 5], "arr2": [6, 7, 8, 9, 10]})
    assert r.status == 200 and r.body == [7, 9, 11, 13, 15], r


def test_sdk_df_types(sdk):
    import pandas as pd
    df1 = pd.DataFrame.from_dict({"col1": [1, 2, 3, 4, 5]})
    df2 = pd.DataFrame.from_dict({"col1": [6, 7, 8, 9, 10]})
    r = sdk.request("POST", "/entrypoint_with_dataframes", json={"df1": df1.to_dict(), "df2": df2.to_dict()})
    assert r.status == 200 and r.body == json.loads((df1 + df2).to_json()), r


def test_sdk_parameters(sdk):
    assert sdk.request("GET", "/~parameters").body == {"key": 10, "key2": 20, "internal": 10, "monitored": 10}
    assert sdk.request("GET", "/~parameters/key").body == 10
    assert sdk.request("POST", "/~parameters/myparameter2", json={"value": 1000}).status == 404
    assert sdk.request("POST", "/~parameters/key", json={"value": 1000}).status == 200
    assert sdk.request("POST", "/~parameters/internal", json={"value": 1000}).status == 405


def test_sdk_monitoring_of_entrypoints_and_parameters(sdk):
    assert sdk.request("POST", "/monitored_entrypoint", json={"name": "Rune", "age": 100}).status == 200
    assert sdk.request("POST", "/valid_entrypoint_method_args", json={"name": "Rune", "age": 100}).status == 222
    assert sdk.request("POST", "/~parameters/monitored", json={"value": 1000}).status == 200
    stored = sdk.request("GET", "/~monitor").body
    assert set(stored) == {"monitored_entrypoint_request", "monitored_entrypoint_response", "monitored"}, stored
    # the change; Daeploy also recorded the value at start (a deliberate difference: python-api.md)
    assert stored["monitored"]["value"] == [1000.0], stored


def test_sdk_get_entrypoint_with_a_json_body(sdk):
    r = sdk.request("GET", "/entrypoint_get", json={"name": "Rune", "age": 100})
    assert r.status == 200 and r.body == "hello", r


def test_sdk_direct_calls_validate(sdk):
    assert sdk.request("POST", "/wrapped_direct_call").body == ["ValidationError", "hello"]
