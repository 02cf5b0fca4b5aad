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
