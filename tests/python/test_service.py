"""Service registration under plain python: entrypoints, options, errors, jobs, store, export, legacy API."""

import asyncio

import pytest

from mvi import HTTPException, service
from mvi import _backend


@pytest.fixture(autouse=True)
def fresh_service():
    service._reset()
    yield
    service._reset()


def test_entrypoint_stays_directly_callable():
    service.add_parameter("greeting_phrase", "Hello")

    @service.entrypoint
    def hello(name: str) -> str:
        return f"{service.get_parameter('greeting_phrase')} {name}"

    assert hello("Bob") == "Hello Bob"
    assert service.hello("Bob") == "Hello Bob"


def test_getattr_unknown_name_is_attribute_error():
    with pytest.raises(AttributeError, match="nope"):
        service.nope
    assert not hasattr(service, "hello")


def test_entrypoint_with_options_returns_a_wrapper_and_exports_the_original():
    def calc(x: int) -> int:
        return x * 2

    wrapper = service.entrypoint(method="get", status_code=201, summary="S", monitor=True)(calc)
    assert wrapper is not calc and wrapper.__wrapped__ is calc and wrapper.__name__ == "calc"
    assert wrapper("4") == 8
    (record,) = service._export()["entrypoints"]
    assert record["function"] is calc
    assert record["method"] == "GET"
    assert record["status_code"] == 201
    assert record["summary"] == "S"
    assert record["monitor"] is True
    assert record["disable_http_logs"] is False


def test_export_format():
    @service.entrypoint
    def first(a: int, b: str = "x") -> list[int]:
        """
        Doubles things.

            indented detail
        """
        return [a]

    @service.entrypoint(description="explicit")
    async def second():
        pass

    export = service._export()
    assert set(export) == {"entrypoints", "jobs", "classes", "startup", "shutdown"}
    assert export["classes"] == []
    one, two = export["entrypoints"]
    assert one == {
        "name": "first", "function": first.__wrapped__, "method": "POST", "status_code": 200, "monitor": False,
        "disable_http_logs": False, "summary": None, "description": "Doubles things.\n\n    indented detail",
        "is_async": False,
        "params": [
            {"name": "a", "type": {"kind": "int"}, "required": True},
            {"name": "b", "type": {"kind": "str"}, "required": False, "default": "x"},
        ],
        "returns": {"kind": "list", "items": {"kind": "int"}},
        "tags": [], "deprecated": False, "include_in_schema": True, "operation_id": "", "response_description": "",
        "media_type": "",
    }
    assert two["name"] == "second" and two["is_async"] is True
    assert two["description"] == "explicit" and two["params"] == [] and two["returns"] == {"kind": "any"}
    assert asyncio.run(service.second()) is None


def test_export_is_a_copy():
    @service.entrypoint
    def f(x: int):
        pass

    service._export()["entrypoints"][0]["params"].clear()
    assert len(service._export()["entrypoints"][0]["params"]) == 1


def test_keyword_only_parameters_are_fine():
    @service.entrypoint
    def f(*, x: int, y: float = 1.5):
        return x + y

    assert [p["name"] for p in service._export()["entrypoints"][0]["params"]] == ["x", "y"]


@pytest.mark.parametrize(
    "options, error, fragment",
    [
        ({"methdo": "GET"}, TypeError, "unknown option(s) methdo"),
        ({"method": "FETCH"}, ValueError, "method must be one of"),
        ({"method": 3}, ValueError, "method must be one of"),
        ({"status_code": 99}, ValueError, "status_code"),
        ({"status_code": 600}, ValueError, "status_code"),
        ({"status_code": "200"}, ValueError, "status_code"),
        ({"status_code": True}, ValueError, "status_code"),
        ({"monitor": "yes"}, TypeError, "monitor"),
        ({"summary": 5}, TypeError, "summary"),
    ],
)
def test_bad_options_name_the_function(options, error, fragment):
    def my_func(x: int):
        pass

    with pytest.raises(error) as info:
        service.entrypoint(**options)(my_func)
    assert "entrypoint 'my_func'" in str(info.value)
    assert fragment in str(info.value)
    assert service._export()["entrypoints"] == []


def test_non_callable_is_rejected():
    with pytest.raises(TypeError, match="expected a function, got 'GET'"):
        service.entrypoint("GET")


def test_lambda_is_rejected():
    with pytest.raises(TypeError, match="identifier"):
        service.entrypoint(lambda x: x)


def test_duplicate_entrypoint_name():
    @service.entrypoint
    def twice():
        pass

    with pytest.raises(ValueError, match="entrypoint 'twice' is already registered"):
        service.entrypoint(twice)


@pytest.mark.parametrize("name", ["parameters", "notifications", "logs", "health", "metrics", "docs",
                                  "redoc", "status", "login", "static"])
def test_reserved_names(name):
    func = type(lambda: None)((lambda: None).__code__, {}, name)
    with pytest.raises(ValueError, match=f"entrypoint '{name}': .*built-in route /{name}"):
        service.entrypoint(func)


def test_var_args_are_rejected():
    def f(a, *args):
        pass

    def g(a, **kwargs):
        pass

    with pytest.raises(TypeError, match=r"entrypoint 'f': parameter '\*args'"):
        service.entrypoint(f)
    with pytest.raises(TypeError, match=r"entrypoint 'g': parameter '\*\*kwargs'"):
        service.entrypoint(g)


def test_positional_only_is_rejected():
    def f(a: int, /, b: int):
        pass

    with pytest.raises(TypeError, match="entrypoint 'f': parameter 'a' is positional-only"):
        service.entrypoint(f)


def test_unsupported_annotation_names_function_and_parameter():
    import decimal

    def when(ok: int, at: decimal.Decimal):
        pass

    with pytest.raises(TypeError) as info:
        service.entrypoint(when)
    assert str(info.value) == "entrypoint 'when': parameter 'at' has unsupported type annotation decimal.Decimal"


def test_unsupported_return_annotation():
    def f() -> set[complex]:
        pass

    with pytest.raises(TypeError, match="entrypoint 'f': return value has unsupported type annotation set"):
        service.entrypoint(f)


def test_call_every_registers_job():
    @service.call_every(2, wait_first=True)
    def tick(n: int = 0):
        return "ticked"

    assert tick() == "ticked"
    assert service._export()["jobs"] == [
        {"name": "tick", "function": tick, "seconds": 2.0, "wait_first": True, "is_async": False}
    ]


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), "5", True])
def test_call_every_bad_period(seconds):
    with pytest.raises(ValueError, match="seconds must be a positive number"):
        service.call_every(seconds)


def test_call_every_errors():
    def needs_arg(x):
        pass

    with pytest.raises(TypeError, match=r"@service.call_every\(seconds\)"):
        service.call_every(needs_arg)
    with pytest.raises(TypeError, match="job 'needs_arg': parameter 'x' has no default"):
        service.call_every(1)(needs_arg)


def test_store_records_locally():
    service.store(temperature=21.5, ok=True)
    service.store()
    (record,) = _backend.get().stored()
    assert record[1] == {"temperature": 21.5, "ok": True}
    assert isinstance(record[0], float)


def test_legacy_mvi_service_is_the_singleton():
    from mvi.mvi import MviService, Severity, notify
    from mvi.communication import Severity as Severity2, notify as notify2

    mvi = MviService()
    assert mvi is service and MviService() is mvi and isinstance(mvi, MviService)
    assert (Severity, notify) == (Severity2, notify2)

    @mvi.entrypoint
    def hello(name: str) -> str:
        return "Hello " + name

    assert service.hello("Ada") == "Hello Ada"


def test_run_from_imported_module_does_nothing():
    assert service.run() is None  # called from this test module, whose __name__ is not "__main__"


def test_http_exception_is_exported():
    assert issubclass(HTTPException, Exception)


def test_entrypoint_with_empty_parentheses():
    @service.entrypoint()
    def ping() -> str:
        return "pong"

    assert service.ping() == "pong"
    assert service._export()["entrypoints"][0]["method"] == "POST"


# ---- life cycle ----


def test_lifespan_functions_are_returned_unchanged_not_run_and_exported_in_order():
    calls = []

    @service.on_startup
    def first():
        calls.append("first")

    @service.on_startup
    async def second():
        calls.append("second")

    @service.on_shutdown
    def bye(timeout: float = 1.0):
        calls.append("bye")

    assert callable(first) and first.__name__ == "first"
    assert calls == [], "plain python never runs them"
    exported = service._export()
    assert exported["startup"] == [first, second]
    assert exported["shutdown"] == [bye]


def test_lifespan_runner_runs_sync_and_async_and_logs_shutdown_errors(caplog):
    from mvi import _lifespan

    calls = []

    async def warm():
        await asyncio.sleep(0)
        calls.append("warm")

    def broken():
        raise ValueError("boom")

    _lifespan.startup([lambda: calls.append("sync"), warm])
    assert calls == ["sync", "warm"]
    with caplog.at_level("ERROR", logger="mvi.runtime"):
        _lifespan.shutdown([broken, lambda: calls.append("after")])
    assert calls[-1] == "after", "a failing shutdown function does not stop the next"
    assert "on_shutdown function 'broken' raised" in caplog.text
    with pytest.raises(ValueError, match="boom"):
        _lifespan.startup([broken, lambda: calls.append("never")])
    assert "never" not in calls


@pytest.mark.parametrize("decorator", ["on_startup", "on_shutdown"])
def test_lifespan_errors(decorator):
    register = getattr(service, decorator)
    with pytest.raises(TypeError, match=f"on_{decorator[3:]}"):
        register(42)

    def needs(x):
        pass

    with pytest.raises(TypeError, match="parameter 'x' has no default"):
        register(needs)


# ---- FastAPI's route options (issue 15) ----


def _exported(name):
    return next(e for e in service._export()["entrypoints"] if e["name"] == name)


def test_fastapi_route_options_are_exported():
    class PlainTextResponse:  # matched by name: FastAPI's, Starlette's, or a look-alike
        pass

    @service.entrypoint(tags=["a", "b"], deprecated=True, include_in_schema=False, operation_id="op",
                        response_description="text", response_class=PlainTextResponse)
    def f() -> str:
        return "x"

    @service.entrypoint(response_class="HTMLResponse")
    def g() -> str:
        return "<p>"

    e = _exported("f")
    assert (e["tags"], e["deprecated"], e["include_in_schema"], e["operation_id"], e["response_description"],
            e["media_type"]) == (["a", "b"], True, False, "op", "text", "text/plain")
    assert _exported("g")["media_type"] == "text/html"


def test_response_model_replaces_the_return_annotation_and_none_turns_checking_off():
    @service.entrypoint(response_model=list[int])
    def f() -> str:
        return "x"

    @service.entrypoint(response_model=None)
    def g() -> int:
        return 1

    assert _exported("f")["returns"] == {"kind": "list", "items": {"kind": "int"}}
    assert _exported("g")["returns"] == {"kind": "any"}


def test_fastapi_options_without_meaning_are_accepted_with_one_warning(caplog):
    with caplog.at_level("WARNING", logger="mvi.service"):
        @service.entrypoint(name="route", dependencies=[], response_model_exclude_none=True)
        def f():
            return 1

    assert [r.getMessage() for r in caplog.records] == [
        "entrypoint 'f': FastAPI option(s) dependencies, name, response_model_exclude_none have no effect under "
        "mvi-runtime and are ignored"]


@pytest.mark.parametrize("options, error, match", [
    ({"response_class": object}, ValueError, "response_class .* is not supported"),
    ({"tags": "a"}, TypeError, "tags must be a list of str"),
    ({"deprecated": 1}, TypeError, "deprecated must be True or False"),
    ({"operation_id": 3}, TypeError, "operation_id must be a str"),
    ({"response_model": complex}, TypeError, "response_model has unsupported type annotation complex"),
    ({"respnse_model": int}, TypeError, "unknown option"),  # a typo is still an error
])
def test_bad_route_options_are_errors_naming_the_function(options, error, match):
    with pytest.raises(error, match=match):
        @service.entrypoint(**options)
        def f():
            return 1


# ---- service.app.mount (issue 15) ----


def _wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}|{environ['QUERY_STRING']}|".encode(),
            environ["wsgi.input"].read()]


def _request(path, body=b"", query=""):
    import base64
    return {"method": "POST", "path": path, "root_path": "/w", "query": query, "http_version": "1.1",
            "headers": [["Host", "h:8000"], ["Content-Type", "text/plain"]], "body": base64.b64encode(body).decode()}


def test_a_mounted_wsgi_app_is_a_hidden_entrypoint_called_with_the_request():
    service.app.mount("/w/", _wsgi)
    e = _exported("mount:/w")
    assert (e["mount"], e["include_in_schema"], e["is_async"]) == ("/w", False, False)
    answer = e["function"](_request("/a%20b", b"data", "x=1"))
    assert answer == {"status": 200, "headers": [["Content-Type", "text/plain"]], "body": b"/w|/a b|x=1|data"}


def test_wsgi_middleware_and_dash_are_unwrapped_and_asgi_apps_are_awaited():
    class WSGIMiddleware:  # Starlette's, matched by name
        def __init__(self, app):
            self.app = app

    class Dash:  # not callable; its Flask server is
        server = staticmethod(_wsgi)

    async def asgi(scope, receive, send):
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 202, "headers": [(b"x-k", b"v")]})
        await send({"type": "http.response.body", "body": scope["path"].encode() + body})

    service.app.mount("/m", WSGIMiddleware(_wsgi))
    service.app.mount("/d", Dash())
    service.app.mount("/a", asgi)
    assert _exported("mount:/m")["function"](_request("/x"))["body"] == b"/w|/x||"
    assert _exported("mount:/d")["function"](_request(""))["status"] == 200
    a = _exported("mount:/a")
    assert a["is_async"] is True
    assert asyncio.run(a["function"](_request("/p/q", b"!"))) == {"status": 202, "headers": [["x-k", "v"]],
                                                                  "body": b"/p/q!"}


@pytest.mark.parametrize("path, match", [
    ("dash", "must be like"), ("/a b", "must be like"), ("/health", "built-in route"), ("/hello", "is an entrypoint"),
    ("/w", "already mounted"), ("/w/inner", "overlaps"),
])
def test_bad_mounts_are_errors(path, match):
    @service.entrypoint
    def hello() -> str:
        return "hi"

    service.app.mount("/w", _wsgi)
    with pytest.raises(ValueError, match=match):
        service.app.mount(path, _wsgi)


def test_an_entrypoint_cannot_take_a_mounted_path_and_a_non_app_is_refused():
    service.app.mount("/dash", _wsgi)
    with pytest.raises(ValueError, match="app is mounted"):
        @service.entrypoint
        def dash():
            return 1
    with pytest.raises(TypeError, match="not a WSGI or ASGI app"):
        service.app.mount("/x", object())
