"""Daeploy parity (issue 15, SPEC §2, §6): services written for the original SDK get the answers they got there.
Grown one behaviour at a time; each test names the Daeploy behaviour it keeps."""

import pytest

from conftest import SERVICES_DIR


@pytest.fixture(scope="module")
def svc(module_launcher):
    return module_launcher(SERVICES_DIR / "daeploy_parity" / "service.py")


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"a": 1, "b": None}, {"a": 1, "b": 5, "c": None, "d": 7}),  # null for a default: the default
        ({"a": 1, "c": None}, {"a": 1, "b": 5, "c": None, "d": 7}),  # unannotated: null is a value
        ({"a": 1, "c": [1, "x", {"k": None}]}, {"a": 1, "b": 5, "c": [1, "x", {"k": None}], "d": 7}),
        ({"a": 1, "d": None}, {"a": 1, "b": 5, "c": None, "d": None}),  # Optional: null is None
    ],
)
def test_explicit_null_arguments_as_daeploy(svc, body, expected):
    r = svc.request("POST", "/args", json=body)
    assert r.status == 200 and r.body == expected, r


def test_null_for_a_required_argument_is_missing(svc):
    r = svc.request("POST", "/args", json={"a": None})
    assert r.status == 422, r
    (error,) = r.body["detail"]
    assert error["type"] == "missing" and error["loc"] == ["body", "a"], error


def test_notify_with_loose_arguments_does_not_fail_the_call(svc):
    r = svc.request("POST", "/loose_notify", json={"timer": -5, "severity": 9})
    assert r.status == 200 and r.body == "sent", r
    kept = [n for n in svc.request("GET", "/notifications").body if n["msg"] == "loose"]
    assert kept and kept[0]["severity_name"] == "CRITICAL" and kept[0]["timer"] == 0, kept
    assert kept[0]["emails"] == ["1", "ops@example.com"], kept
    assert svc.wait_for_output(r"WARNING.*notify: timer -5(\.0)? is not a number of seconds >= 0: 0 is used")


def test_a_parameter_with_disable_http_logs_stays_out_of_the_access_log(svc):
    for name in ("quiet", "loud"):
        assert svc.request("POST", f"/parameters/{name}", json={name: 2}).status == 200
        assert svc.request("GET", f"/parameters/{name}").status == 200
    assert svc.wait_for_output(r"mvi\.access: GET /parameters/loud 200")
    assert svc.wait_for_output(r"mvi\.access: POST /parameters/loud 200")
    assert not svc.wait_for_output(r"mvi\.access: \w+ /parameters/quiet", timeout=0.5)


# ---- return annotations are response models ----


@pytest.mark.parametrize(
    "path, body, expected",
    [
        ("/as_int", {"value": "10"}, 10),  # coerced as FastAPI's response_model does
        ("/user_from_model", {"name": "ada"}, {"name": "ada", "role": "viewer"}),  # no password: not declared
        ("/user_from_dict", {"name": "ada"}, {"name": "ada", "role": "viewer"}),  # default filled, extra dropped
        ("/points", {}, [{"x": 1.0, "y": 0.0}, {"x": 2.5, "y": 3.0}]),
        ("/via_response_model", {"name": "ada"}, {"name": "ada", "role": "admin"}),
        ("/unchecked", {}, "not an int"),  # response_model=None: not checked
    ],
)
def test_the_result_is_checked_against_the_return_annotation(svc, path, body, expected):
    r = svc.request("POST", path, json=body)
    assert r.status == 200 and r.body == expected, r
    if isinstance(expected, dict):
        assert list(r.body) == list(expected), "fields in declaration order"


def test_a_result_that_does_not_fit_is_a_500_with_the_reason_logged(svc):
    r = svc.request("POST", "/as_int", json={"value": "ten"}, headers={"X-Request-ID": "bad-result-1"})
    assert r.status == 500 and r.body == {"detail": "Internal Server Error", "request_id": "bad-result-1"}, r
    assert svc.wait_for_output(r"ERROR +mvi\.entrypoint: entrypoint 'as_int' returned a value that does not fit its "
                               r"return annotation int: response: Input should be a valid integer.*\(got \"ten\"\) "
                               r"\[entrypoint=as_int request_id=bad-result-1\]")


def test_the_openapi_response_schema_is_the_response_model(svc):
    spec = svc.request("GET", "/openapi.json").body
    ok = lambda path, method="post": spec["paths"][path][method]["responses"]["200"]  # noqa: E731
    assert ok("/via_response_model")["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/UserOut"}
    assert spec["components"]["schemas"]["UserOut"]["properties"]["role"]["default"] == "viewer"
    assert ok("/unchecked")["content"]["application/json"]["schema"] == {}


# ---- FastAPI's route options ----


def test_text_and_html_response_classes(svc):
    r = svc.request("GET", "/plain?name=ada")
    assert r.status == 200 and r.raw == b"hello ada", r
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8", r.headers
    r = svc.request("GET", "/page")
    assert r.status == 200 and r.raw == b"<h1>hi</h1>" and r.headers["Content-Type"] == "text/html; charset=utf-8", r


def test_route_options_shape_the_openapi_document(svc):
    spec = svc.request("GET", "/openapi.json").body
    plain = spec["paths"]["/plain"]["get"]
    assert plain["tags"] == ["text"] and plain["summary"] == "Plain greeting", plain
    assert plain["responses"]["200"] == {"description": "The greeting as text",
                                         "content": {"text/plain": {"schema": {"type": "string"}}}}, plain
    page = spec["paths"]["/page"]["get"]
    assert page["deprecated"] is True and page["operationId"] == "page_v1", page
    assert "/hidden" not in spec["paths"]
    assert spec["paths"]["/args"]["post"]["tags"] == ["entrypoints"]


def test_fastapi_options_without_meaning_load_with_one_warning(svc):
    assert svc.request("POST", "/hidden").body == "hidden"  # not documented, still served
    assert svc.wait_for_output(r"WARNING +mvi\.service: entrypoint 'hidden': FastAPI option\(s\) dependencies, name "
                               r"have no effect under mvi-runtime and are ignored")


# ---- parameters ----


def test_parameters_are_listed_in_declaration_order(svc):
    for path in ("/~parameters", "/parameters"):
        r = svc.request("GET", path)
        assert r.status == 200 and list(r.body)[:4] == ["quiet", "loud", "ratio", "count"], (path, r)


def test_a_numeric_default_without_a_type_takes_any_number_kept_as_sent(svc):
    assert svc.request("POST", "/~parameters/ratio", json={"value": 0.5}).status == 200
    assert svc.request("GET", "/~parameters/ratio").body == 0.5
    assert svc.request("POST", "/~parameters/ratio", json={"value": 3}).status == 200
    r = svc.request("GET", "/~parameters/ratio")
    assert r.body == 3 and r.raw == b"3", r  # an int stays an int
    spec = svc.request("GET", "/openapi.json").body
    assert spec["paths"]["/parameters/ratio"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "properties"]["ratio"] == {"type": "number"}


def test_an_explicitly_typed_parameter_stays_strict_with_the_error_at_body_value(svc):
    r = svc.request("POST", "/~parameters/count", json={"value": 0.5})
    assert r.status == 422, r
    (error,) = r.body["detail"]
    assert error["loc"] == ["body", "value"] and error["type"] == "int_from_float", error
    r = svc.request("POST", "/parameters/count", json={"count": 0.5})
    assert r.status == 422 and r.body["detail"][0]["loc"] == ["body", "count"], r


# ---- error details ----


def test_unknown_paths_and_methods_answer_fastapis_texts(svc):
    r = svc.request("POST", "/no_such_entrypoint", json={})
    assert r.status == 404 and r.body == {"detail": "Not Found"}, r
    r = svc.request("GET", "/args")
    assert r.status == 405 and r.body == {"detail": "Method Not Allowed"} and r.headers["Allow"] == "POST", r


def test_a_missing_argument_has_fastapis_input(svc):
    r = svc.request("POST", "/args", json={"b": 2})
    assert r.status == 422, r
    assert r.body["detail"] == [{"type": "missing", "loc": ["body", "a"], "msg": "Field required", "input": None}], r


# ---- service.app.mount ----


def test_a_mounted_wsgi_app_gets_the_request_and_its_answer_is_sent(svc):
    r = svc.request("POST", "/wsgi/echo/a%20b?x=1", body=b"raw \xff bytes",
                    headers={"Content-Type": "application/octet-stream", "X-Agent": "t"})
    assert r.status == 201 and r.headers["X-From"] == "wsgi", r
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8", r.headers
    assert r.raw == (b"POST script=/wsgi path=/echo/a b query=x=1 type=application/octet-stream agent=t "
                     b"body=raw \xff bytes"), r
    r = svc.request("GET", "/wsgi")
    assert r.status == 201 and b"script=/wsgi path= " in r.raw, r


def test_daeploys_wsgi_middleware_recipe_is_served_as_wsgi(svc):
    r = svc.request("GET", "/dashboard/_dash-layout")
    assert r.status == 201 and b"script=/dashboard path=/_dash-layout" in r.raw, r


def test_mounted_asgi_apps_and_a_fastapi_app(svc):
    r = svc.request("PUT", "/asgi/x/y", body=b"payload")
    assert r.status == 200 and r.raw == b"PUT root=/asgi path=/x/y body=payload", r
    r = svc.request("GET", "/api/items/3?q=z")
    assert r.status == 200 and r.body == {"item_id": 3, "q": "z"}, r
    r = svc.request("GET", "/api/items/three")
    assert r.status == 422, r  # FastAPI's own validation, inside the mounted app


def test_a_failing_mounted_app_is_a_500_with_its_traceback_logged(svc):
    r = svc.request("GET", "/wsgi/boom", headers={"X-Request-ID": "mount-boom"})
    assert r.status == 500 and r.body == {"detail": "Internal Server Error", "request_id": "mount-boom"}, r
    assert svc.wait_for_output(r"RuntimeError: the mounted app failed")


def test_mounts_are_not_in_the_openapi_document_and_are_in_the_access_log(svc):
    paths = svc.request("GET", "/openapi.json").body["paths"]
    assert not [p for p in paths if p.startswith(("/wsgi", "/asgi", "/api", "/dashboard"))], sorted(paths)
    svc.request("GET", "/wsgi/logged")
    assert svc.wait_for_output(r"mvi\.access: GET /wsgi/logged 201")


# ---- a Daeploy manager's variables ----


def test_under_a_daeploy_managers_variables_the_root_path_is_daeploys(start_service):
    svc = start_service(SERVICES_DIR / "daeploy_parity" / "service.py", "--drain-delay", "0",
                        env={"daeploy.name": "parity", "daeploy.version": "1.2.0"})
    spec = svc.request("GET", "/openapi.json").body
    assert spec["servers"] == [{"url": "/services/parity_1.2.0"}] and spec["info"]["title"] == "parity 1.2.0", spec
    for path in ("/root_path", "/services/parity_1.2.0/root_path"):  # with or without the proxy's prefix
        r = svc.request("GET", path)
        assert r.status == 200 and r.body == "/services/parity_1.2.0", (path, r)
