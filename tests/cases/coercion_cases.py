"""Reads tests/cases/coercion.json (its format: README.md beside it) and compares a coerced value with a case's
"expect": the helpers that generate.py, the Python direct-call test and the e2e test share."""

import json
import os
import re

from coercion_types import NAMES

CASES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "coercion.json")
KEYS = ("name", "type", "input", "expect", "errors", "desc")  # a case's keys, in the order the file writes them
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # also a valid GoogleTest parameter name


def load(path=CASES_FILE, need_desc=True):
    """The cases, checked for shape (so a typo fails loudly rather than testing nothing)."""
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)
    problems = list(_shape_problems(cases, need_desc))
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return cases


def _shape_problems(cases, need_desc):
    if not isinstance(cases, list) or not cases:
        yield "the file must hold a non-empty JSON list of cases"
        return
    seen = set()
    for i, case in enumerate(cases):
        name = case.get("name") if isinstance(case, dict) else None
        where = f"case {i} ({name!r})"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            yield f"{where}: name must match {_NAME.pattern}"
        elif name in seen:
            yield f"{where}: duplicate name"
        seen.add(name)
        if not isinstance(case, dict):
            continue
        unknown = set(case) - set(KEYS)
        if unknown:
            yield f"{where}: unknown keys {sorted(unknown)}"
        for key in ("type", "input") + (("desc",) if need_desc else ()):
            if key not in case:
                yield f"{where}: no {key!r}"
        if ("expect" in case) == ("errors" in case):
            yield f"{where}: exactly one of 'expect' and 'errors'"
        errors = case.get("errors", [{"type": "", "loc": []}])
        if not isinstance(errors, list) or not errors or not all(
                isinstance(e, dict) and set(e) == {"type", "loc"} and isinstance(e["type"], str)
                and isinstance(e["loc"], list) for e in errors):
            yield f"{where}: 'errors' must be a non-empty list of {{'type': str, 'loc': list}}"


def annotation(case):
    """The Python annotation a case's "type" expression names."""
    return eval(case["type"], dict(NAMES))  # our own case file's expressions, over a namespace we define


def canonical(value, desc):
    """`value` (JSON data) with the items of every set or frozenset sorted and deduplicated: a Python set comes back
    in hash order and without repeats, the runtime's validated JSON in the order sent. Sets inside unions are left
    as they are (no case needs them)."""
    kind = desc["kind"]
    if kind == "list" and isinstance(value, list):
        items = [canonical(v, desc["items"]) for v in value]
        if desc.get("container") in ("set", "frozenset"):
            items = [json.loads(t) for t in sorted({_text(v) for v in items})]
        return items
    if kind == "tuple" and isinstance(value, list):
        return [canonical(v, d) for v, d in zip(value, desc["items"])] + value[len(desc["items"]):]
    if kind == "dict" and isinstance(value, dict):
        return {k: canonical(v, desc["values"]) for k, v in value.items()}
    if kind == "object" and isinstance(value, dict):
        fields = {f["name"]: f["type"] for f in desc["fields"]}
        return {k: canonical(v, fields[k]) if k in fields else v for k, v in value.items()}
    return value


def _text(value):
    # 1, 1.0 and true are three different JSON values, and key order is not part of an object's value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def same(a, b):
    """Whether two JSON values are equal, with their types: 1 is neither 1.0 nor true."""
    return _text(a) == _text(b)
