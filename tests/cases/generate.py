"""Fills in every case's "desc" in coercion.json, the type description mvi's own describe() gives the case's "type"
(what the C++ side parses with parse_type_desc), and rewrites the file in its one layout: one case a line.
Run after adding or changing a case:  /usr/bin/python3 tests/cases/generate.py
tests/python/test_coercion_cases.py fails while the committed file differs from what this writes."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python")]

import coercion_cases  # noqa: E402  (needs the path above)
from mvi._describe import Context, describe  # noqa: E402


def with_descs(cases):
    """The cases with "desc" (re)computed and their keys in the file's order."""
    out = []
    for case in cases:
        case = dict(case, desc=describe(coercion_cases.annotation(case), Context()))
        out.append({key: case[key] for key in coercion_cases.KEYS if key in case})
    return out


def render(cases):
    """The file's text: a JSON list, one case a line (so a diff shows which cases changed)."""
    lines = [json.dumps(case, ensure_ascii=False) for case in cases]
    return "[\n" + ",\n".join(f"  {line}" for line in lines) + "\n]\n"


def main():
    cases = coercion_cases.load(need_desc=False)
    text = render(with_descs(cases))
    with open(coercion_cases.CASES_FILE, encoding="utf-8") as f:
        changed = f.read() != text
    if changed:
        with open(coercion_cases.CASES_FILE, "w", encoding="utf-8") as f:
            f.write(text)
    print(f"{coercion_cases.CASES_FILE}: {len(cases)} cases, {'rewritten' if changed else 'already up to date'}")


if __name__ == "__main__":
    main()
