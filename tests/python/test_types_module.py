"""mvi.types: importable without numpy/pandas, no heavy imports from mvi itself, Daeploy-compatible classes."""

import os
import subprocess
import sys
import textwrap

import pytest

import mvi

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(mvi.__file__)))


def run(code, block=()):
    """Run `code` in a fresh interpreter with the packages in `block` made unimportable."""
    prelude = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in block)
    source = prelude + textwrap.dedent(code).replace("HEAVY()", HEAVY)
    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": PYTHON_DIR}, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# a line of the child's code that prints which of the heavy packages are imported
HEAVY = "print(sorted(m for m in ('numpy', 'pandas', 'pydantic') if m in sys.modules))"


def test_importing_mvi_and_registering_plain_entrypoints_imports_nothing_heavy():
    assert run("""
        import datetime, dataclasses, enum, typing
        import mvi, mvi.types, mvi._encode
        from mvi import service

        @dataclasses.dataclass
        class P:
            x: int

        class E(enum.Enum):
            A = 1

        @service.entrypoint
        def f(a: str, p: P, e: E, when: datetime.datetime, t: tuple[int, ...] = ()) -> typing.Optional[P]:
            return p

        assert f("x", {"x": "1"}, 1, "2024-01-01") == P(1)
        assert mvi._encode.to_jsonable(datetime.date(2024, 1, 1)) == "2024-01-01"
        HEAVY()
    """) == "[]"


def test_mvi_types_without_numpy_or_pandas():
    out = run("""
        import mvi.types
        from mvi.types import NDArray
        print(NDArray(dtype="float32", shape=(None, 3)))
        for name in ("ArrayInput", "DataFrameOutput"):
            try:
                getattr(mvi.types, name)
            except ImportError as exc:
                print(type(exc).__name__, exc)
        try:
            from mvi.types import ArrayOutput
        except ImportError as exc:
            print("from-import", type(exc).__name__)
        try:
            mvi.types.Nope
        except AttributeError as exc:
            print("AttributeError", exc)
    """, block=("numpy", "pandas"))
    assert out.splitlines() == [
        "NDArray(dtype='float32', shape=(None, 3))",
        "ImportError mvi.types.ArrayInput needs numpy: import of numpy halted; None in sys.modules",
        "ImportError mvi.types.DataFrameOutput needs pandas: import of pandas halted; None in sys.modules",
        "from-import ImportError",
        "AttributeError module 'mvi.types' has no attribute 'Nope'",
    ]


def test_service_without_numpy_still_loads():
    # a service that does not use numpy must not need it, even though the describers know about ndarrays
    assert run("""
        from mvi import service

        @service.entrypoint
        def f(x: list[float]) -> float:
            return sum(x)

        print(f(["1.5", 2]))
    """, block=("numpy", "pandas", "pydantic")) == "3.5"


def test_daeploy_classes_are_lazy_and_cached():
    out = run("""
        import mvi.types
        HEAVY()
        from mvi.types import ArrayInput
        HEAVY()
        from mvi.types import ArrayInput as again, ArrayOutput
        print(again is ArrayInput, ArrayOutput.__module__, "ArrayInput" in dir(mvi.types))
    """)
    assert out.splitlines() == ["[]", "['numpy']", "True mvi.types True"]


def test_daeploy_validators_work_inside_pydantic_v1_models():
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pydantic")
    try:
        import pydantic.v1 as pydantic  # Daeploy's validators are pydantic v1 hooks
    except ImportError:
        import pydantic

    from mvi.types import ArrayInput, ArrayOutput, DataFrameInput, DataFrameOutput

    class Model(pydantic.BaseModel):
        array_in: ArrayInput
        array_out: ArrayOutput
        frame_in: DataFrameInput
        frame_out: DataFrameOutput

    model = Model(array_in=[[1, 2]], array_out=np.array([1.5]), frame_in={"a": [1, 2]},
                  frame_out=pd.DataFrame({"a": [1]}))
    assert isinstance(model.array_in, np.ndarray) and model.array_in.tolist() == [[1, 2]]
    assert model.array_out == [1.5]
    assert isinstance(model.frame_in, pd.DataFrame) and model.frame_in["a"].tolist() == [1, 2]
    assert model.frame_out == {"a": {0: 1}}
    schema = Model.schema()["properties"]
    assert schema["array_in"]["type"] == "array" and schema["frame_in"]["type"] == "object"
