"""The typed public API: a py.typed marker, complete type hints and docstrings on every public name, the two
`service.entrypoint` overloads with a Literal `method`, and mypy accepting correct user code while rejecting
wrong options (so an IDE completes `method=` and mypy checks users' services)."""

import collections.abc
import inspect
import os
import subprocess
import sys
import textwrap
import typing

import pytest

import mvi
import mvi.communication
import mvi.exceptions
import mvi.mvi
import mvi.types
from mvi import service
from mvi._service import ENTRYPOINT_DEFAULTS, METHODS, HTTPMethod, Service

PACKAGE_DIR = os.path.dirname(os.path.abspath(mvi.__file__))

# every public callable of the package, by the name a user writes
PUBLIC_FUNCTIONS = {
    **{f"service.{name}": getattr(Service, name) for name in
       ("entrypoint", "call_every", "add_parameter", "get_parameter", "set_parameter", "get_parameters", "store",
        "run")},
    "mvi.communication.notify": mvi.communication.notify,
    "mvi.HTTPException": mvi.exceptions.HTTPException.__init__,
    "mvi.ValidationError": mvi.exceptions.ValidationError.__init__,
    "mvi.ValidationError.errors": mvi.exceptions.ValidationError.errors,
    "mvi.types.NDArray": mvi.types.NDArray.__init__,
}

PUBLIC_NAMES = {
    "mvi.service": mvi.service, "mvi.HTTPException": mvi.HTTPException, "mvi.ValidationError": mvi.ValidationError,
    "mvi.communication.Severity": mvi.communication.Severity, "mvi.mvi.MviService": mvi.mvi.MviService,
    "mvi.types.NDArray": mvi.types.NDArray,
    **{f"mvi.types.{name}": getattr(mvi.types, name) for name in
       ("ArrayInput", "ArrayOutput", "DataFrameInput", "DataFrameOutput")},
    **PUBLIC_FUNCTIONS,
}


def test_py_typed_marker_ships_in_the_package():
    # PEP 561: without it mypy ignores the package's hints ("missing library stubs or py.typed marker")
    assert os.path.isfile(os.path.join(PACKAGE_DIR, "py.typed"))


@pytest.mark.parametrize("name", sorted(PUBLIC_FUNCTIONS))
def test_public_functions_are_fully_annotated(name):
    func = PUBLIC_FUNCTIONS[name]
    hints = typing.get_type_hints(func)  # every hint must also resolve at run time
    params = [p for p in inspect.signature(func).parameters.values() if p.name not in ("self", "cls")]
    missing = [p.name for p in params if p.name not in hints] + ([] if "return" in hints else ["return"])
    assert not missing, f"{name}: no type hint for {missing}"


@pytest.mark.parametrize("name", sorted(PUBLIC_NAMES))
def test_public_names_have_docstrings(name):
    doc = inspect.getdoc(PUBLIC_NAMES[name])
    assert doc and doc.strip(), f"{name} has no docstring"


def test_entrypoint_has_the_bare_and_the_called_overload():
    overloads = [typing.get_type_hints(o) for o in typing.get_overloads(Service.entrypoint)]
    assert len(overloads) == 2
    (bare,) = [h for h in overloads if isinstance(h["func"], typing.TypeVar)]
    (called,) = [h for h in overloads if h["func"] is type(None)]
    function_type = bare["func"]
    assert bare["return"] is function_type  # @service.entrypoint keeps the function's own type
    assert typing.get_origin(called["return"]) is collections.abc.Callable
    assert typing.get_args(called["return"]) == ([function_type], function_type)


def test_entrypoint_options_are_keyword_only_and_typed_alike_everywhere():
    implementation = inspect.signature(Service.entrypoint)
    wanted = {name: p.default for name, p in implementation.parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert wanted == ENTRYPOINT_DEFAULTS
    assert list(wanted) == ["method", "monitor", "disable_http_logs", "status_code", "summary", "description",
                            "response_model", "tags", "response_description", "deprecated", "include_in_schema",
                            "operation_id", "response_class"]
    for function in [Service.entrypoint, *typing.get_overloads(Service.entrypoint)]:
        params = inspect.signature(function).parameters
        assert {n: p.default for n, p in params.items() if p.kind is p.KEYWORD_ONLY} == wanted
        assert params["func"].kind is inspect.Parameter.POSITIONAL_ONLY
        hints = typing.get_type_hints(function)
        assert hints["method"] is HTTPMethod
        assert (hints["monitor"], hints["disable_http_logs"], hints["status_code"]) == (bool, bool, int)
        assert hints["summary"] == hints["description"] == (str | None)


def test_method_literal_lists_exactly_the_accepted_methods():
    values = typing.get_args(HTTPMethod)
    assert {v.upper() for v in values} == set(METHODS) == {"GET", "POST", "PUT", "PATCH", "DELETE"}
    assert set(values) == {v.upper() for v in values} | {v.lower() for v in values}


def test_unknown_options_still_name_the_function_in_both_forms():
    service._reset()

    def f():
        pass

    allowed = ("allowed: method, monitor, disable_http_logs, status_code, summary, description, response_model, "
               "tags, response_description, deprecated, include_in_schema, operation_id, response_class")
    for register in (lambda: service.entrypoint(methdo="GET")(f), lambda: service.entrypoint(f, methdo="GET")):
        with pytest.raises(TypeError) as info:
            register()
        assert str(info.value) == f"entrypoint 'f': unknown option(s) methdo; {allowed}"
    assert service._export()["entrypoints"] == []


# ---- mypy on users' code: one run over both files keeps the suite fast ----

GOOD = """
    import asyncio
    from typing import Optional

    from mvi import HTTPException, ValidationError, service
    from mvi.communication import Severity, notify
    from mvi.mvi import MviService
    from mvi.types import ArrayInput, NDArray

    service.add_parameter("threshold", 0.5, description="cut-off")


    @service.entrypoint
    def hello(name: str) -> str:
        notify(f"hello {name}", Severity.WARNING, emails=["ops@example.com"], timer=5)
        return f"{service.get_parameter('threshold')} {name}"


    @service.entrypoint(method="GET", status_code=201, summary="s", monitor=True, disable_http_logs=False)
    async def fetch(key: str, limit: Optional[int] = None) -> dict[str, str]:
        await asyncio.sleep(0)
        if not key:
            raise HTTPException(404, "no key", headers={"X-Why": "empty"})
        return {"key": key}


    @service.entrypoint(method="delete")
    def predict(x: ArrayInput) -> list[float]:
        return [float(v) for v in x]


    @service.call_every(5, wait_first=True)
    def tick() -> None:
        service.store(value=1.0)


    greeting: str = hello("Bob")  # the decorator keeps the function's type
    via_service: str = service.hello("Bob")
    MviService().run()
    marker = NDArray(dtype="float32", shape=(None, 3))
    try:
        hello("x")
    except ValidationError as exc:
        problems = exc.errors()
"""

BAD = """
    from mvi import service


    @service.entrypoint(method=123)  # rejected: call-overload
    def a() -> None: ...


    @service.entrypoint(method="FETCH")  # rejected: call-overload
    def b() -> None: ...


    @service.entrypoint(methdo="GET")  # rejected: call-overload
    def c() -> None: ...


    @service.entrypoint(status_code="200")  # rejected: call-overload
    def d() -> None: ...


    def text() -> str:
        return "t"


    number: int = service.entrypoint(text)()  # rejected: assignment (the bare form keeps text's str result)
"""
# {line: the mypy error code expected there}, from the "# rejected: CODE" marks
BAD_LINES = {i: line.split("# rejected: ")[1].split()[0]
             for i, line in enumerate(textwrap.dedent(BAD).lstrip("\n").splitlines(), 1) if "# rejected" in line}


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mypy")
    for name, text in (("good.py", GOOD), ("bad.py", BAD)):
        (folder / name).write_text(textwrap.dedent(text).lstrip("\n"))
    env = {**os.environ, "PYTHONPATH": os.path.dirname(PACKAGE_DIR)}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(folder / "cache"),
         "good.py", "bad.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2: mypy itself failed
    errors = {}
    for line in result.stdout.splitlines():
        path, _, rest = line.partition(":")
        number, _, message = rest.partition(":")
        if number.isdigit() and message.strip().startswith("error"):
            errors.setdefault(path, {}).setdefault(int(number), []).append(message.strip())
    return errors


def test_mypy_accepts_correct_use_of_the_api(mypy_errors):
    assert mypy_errors.get("good.py", {}) == {}


def test_mypy_rejects_wrong_entrypoint_options(mypy_errors):
    found = mypy_errors.get("bad.py", {})
    assert set(found) == set(BAD_LINES), found
    for line, code in BAD_LINES.items():
        assert any(m.endswith(f"[{code}]") for m in found[line]), (line, found[line])
