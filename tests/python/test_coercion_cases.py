"""The shared coercion cases (tests/cases/coercion.json) on the plain-python path: mvi's own coerce() builds the value
each case expects, or reports exactly its errors' types and locations. The same file drives the C++ validator test
and tests/e2e/test_coercion_cases.py, so the three paths cannot drift apart."""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "cases"))

import coercion_cases  # noqa: E402  (lives in tests/cases, put on the path above)
import generate  # noqa: E402
from mvi._coerce import coerce  # noqa: E402
from mvi._describe import Context, describe  # noqa: E402
from mvi._encode import to_jsonable  # noqa: E402
from mvi._invalid import Invalid  # noqa: E402

CASES = coercion_cases.load()

# the kinds the file must exercise (docs/dev/type-descriptions.md, SPEC §5), ndarray and DataFrame aside
REQUIRED_KINDS = {"any", "str", "int", "float", "bool", "none", "bytes", "datetime", "date", "time", "uuid", "list",
                  "tuple", "dict", "union", "literal", "enum", "object"}


def test_committed_file_is_what_generate_writes():
    with open(coercion_cases.CASES_FILE, encoding="utf-8") as f:
        committed = f.read()
    assert committed == generate.render(generate.with_descs(CASES)), (
        "tests/cases/coercion.json is out of date: run /usr/bin/python3 tests/cases/generate.py and commit it")


def _kinds(desc):
    yield desc["kind"]
    for key in ("items", "values", "options"):
        inner = desc.get(key)
        for sub in (inner if isinstance(inner, list) else [inner]):
            if isinstance(sub, dict) and "kind" in sub:
                yield from _kinds(sub)
    for field in desc.get("fields", ()):
        yield from _kinds(field["type"])


def test_cases_cover_every_kind_with_values_and_errors():
    covered = {"expect": set(), "errors": set()}
    for case in CASES:
        covered["expect" if "expect" in case else "errors"].add(case["desc"]["kind"])
    assert REQUIRED_KINDS - {"any"} <= covered["errors"], REQUIRED_KINDS - covered["errors"]
    assert REQUIRED_KINDS <= covered["expect"], REQUIRED_KINDS - covered["expect"]
    containers = {c["desc"].get("container", "list") for c in CASES if c["desc"]["kind"] == "list"}
    assert containers == {"list", "tuple", "set", "frozenset"}
    constructs = {c["desc"]["construct"] for c in CASES if c["desc"]["kind"] == "object"}
    assert constructs == {"dataclass", "typeddict"}
    assert set().union(*(set(_kinds(c["desc"])) for c in CASES)) >= REQUIRED_KINDS


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_direct_coercion(case):
    ctx = Context()
    desc = describe(coercion_cases.annotation(case), ctx)
    if "expect" in case:
        value = coerce(case["input"], desc, ctx.classes)
        got = coercion_cases.canonical(to_jsonable(value), desc)
        want = coercion_cases.canonical(case["expect"], desc)
        assert coercion_cases.same(got, want), f"{case['type']} from {case['input']!r}: got {got!r}, want {want!r}"
        return
    with pytest.raises(Invalid) as info:
        coerce(case["input"], desc, ctx.classes)
    got = [{"type": type_, "loc": list(loc)} for loc, _, type_ in info.value.errors]
    assert got == case["errors"], f"{case['type']} from {case['input']!r}: {info.value}"
