"""The OpenAPI document (§5): golden files, /openapi.json over HTTP, determinism, servers with --root-path, and
validation by an external OpenAPI 3.1 validator (tests/e2e/validate_openapi.mjs, npm packages from
scripts/setup.sh).

Golden files live in tests/e2e/golden/<name>.openapi.json: the document `mvi-runtime --openapi SERVICE_PY` prints,
as pretty JSON in the document's own key order. After an intended change to the document, regenerate them with

    MVI_UPDATE_GOLDEN=1 MVI_RUNTIME_BIN=$PWD/build/mvi-runtime /usr/bin/python3 -m pytest -q tests/e2e/test_openapi.py

and review the diff (git diff tests/e2e/golden) before committing.
"""

import difflib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_command

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
VALIDATOR = Path(__file__).resolve().parent / "validate_openapi.mjs"
UPDATE = os.environ.get("MVI_UPDATE_GOLDEN") == "1"

# golden name -> service file (relative to the repository root)
SERVICES = {
    "hello": "examples/hello/service.py",
    "seed_legacy": "examples/seed_legacy/service.py",
    "analytics": "examples/analytics/service.py",
    "types": "tests/e2e/services/types/service.py",
}
ROOT_PATH = "/services/hello_1.0.0"
CHECK_LINE_RE = re.compile(r"^\s+([A-Z]+) /(\w+)\(")  # "  POST /hello(name: str) -> str" in --check output


def canonical(doc):
    """The golden rendering: 2-space indent, keys in the document's own order (SPEC §5: properties and `required`
    in declaration order, paths in route-table order), UTF-8, trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


_CACHE = {}  # (runtime_bin, service, args) -> (document, its text, CommandResult): each run takes up to ~1 s


def openapi_of(runtime_bin, service, *args, fresh=False):
    """(parsed document, raw stdout) of `mvi-runtime --openapi [args] SERVICE_PY` (cached unless fresh=True)."""
    key = (runtime_bin, service, args)
    if not fresh and key in _CACHE:
        _, text, _ = _CACHE[key]
        return json.loads(text), text
    result = run_command([runtime_bin, "--openapi", *args, REPO / service], timeout=30)
    assert result.returncode == 0, f"--openapi failed\n{result.describe()}"
    # The document starts at the first line that is exactly "{". Anything before it is a product bug that
    # test_stdout_is_only_the_document reports; the other tests still check the document itself.
    lines = result.stdout.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip("\r\n") == "{"), 0)
    text = "".join(lines[start:])
    try:
        doc = json.loads(text)
    except ValueError as exc:
        pytest.fail(f"--openapi did not print one JSON document ({exc})\n{result.describe()}", pytrace=False)
    _CACHE[key] = (doc, text, result)
    return doc, text


def diff_text(expected, actual, expected_name, actual_name, limit=200):
    lines = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(), expected_name, actual_name,
                                      lineterm="", n=3))
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines)


def node_validator():
    """argv prefix that runs validate_openapi.mjs; fails (never skips) when node or the npm packages are missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH: run scripts/setup.sh (it installs nodejs and npm, then `npm ci`)",
                    pytrace=False)
    package = REPO / "node_modules" / "@seriousme" / "openapi-schema-validator" / "package.json"
    if not package.is_file():
        pytest.fail(f"{package.parent} is missing: run scripts/setup.sh (or `npm ci` in {REPO}) to install the "
                    "OpenAPI validator from package-lock.json", pytrace=False)
    return [node, VALIDATOR]


def validate(paths):
    result = run_command([*node_validator(), *paths], timeout=60)
    assert result.returncode == 0, f"OpenAPI 3.1 validation failed\n{result.describe()}"
    return result


# --------------------------------------------------------------------------------------------------------------
# Golden files


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_golden(runtime_bin, name):
    doc, _ = openapi_of(runtime_bin, SERVICES[name])
    actual = canonical(doc)
    golden = GOLDEN_DIR / f"{name}.openapi.json"
    if UPDATE:
        GOLDEN_DIR.mkdir(exist_ok=True)
        if not golden.is_file() or golden.read_text(encoding="utf-8") != actual:
            golden.write_text(actual, encoding="utf-8")
            print(f"MVI_UPDATE_GOLDEN=1: rewrote {golden}")
        return
    assert golden.is_file(), (f"{golden} does not exist; create it with MVI_UPDATE_GOLDEN=1 (see the docstring of "
                              f"{Path(__file__).name})")
    expected = golden.read_text(encoding="utf-8")
    if json.loads(expected) != doc:
        pytest.fail(
            f"the OpenAPI document of {SERVICES[name]} differs from {golden.relative_to(REPO)}.\n"
            f"If the change is intended, regenerate with MVI_UPDATE_GOLDEN=1 and review `git diff`.\n"
            + diff_text(expected, actual, f"golden/{name}.openapi.json", f"mvi-runtime --openapi {SERVICES[name]}"),
            pytrace=False,
        )
    # Equal as data but not as text: the order of keys changed (declaration order is part of the contract).
    assert expected == actual, f"{golden} differs in key order or form (indent 2, the document's order); if " \
                               "intended, rewrite it with MVI_UPDATE_GOLDEN=1\n" + \
        diff_text(expected, actual, f"golden/{name}.openapi.json", f"mvi-runtime --openapi {SERVICES[name]}")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_stdout_is_only_the_document(runtime_bin, name):
    """`mvi-runtime --openapi svc.py > openapi.json` must give a usable file: nothing but the document on stdout
    (log lines, e.g. ones the service's imports emit while loading, belong on stderr or nowhere)."""
    openapi_of(runtime_bin, SERVICES[name])
    _, text, result = _CACHE[(runtime_bin, SERVICES[name], ())]
    extra = result.stdout[: len(result.stdout) - len(text)]
    assert not extra, (f"`mvi-runtime --openapi {SERVICES[name]}` printed {len(extra.splitlines())} line(s) before "
                       f"the JSON document on stdout, so its output is not valid JSON:\n{extra}")
    json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_entrypoint_and_parameter_documented(runtime_bin, name):
    """Independent of the golden files: each entrypoint `--check` lists has its operation, each parameter its route."""
    check = run_command([runtime_bin, "--check", REPO / SERVICES[name]], timeout=30)
    assert check.returncode == 0, check.describe()
    routes = [m.groups() for m in map(CHECK_LINE_RE.match, check.stdout.splitlines()) if m]
    assert routes, f"no entrypoint found in the --check output\n{check.describe()}"
    doc, _ = openapi_of(runtime_bin, SERVICES[name])
    assert doc["openapi"].startswith("3.1."), doc["openapi"]
    for method, ep in routes:
        op = doc["paths"].get(f"/{ep}", {}).get(method.lower())
        assert op is not None, f"no {method} /{ep} operation in the document; paths: {sorted(doc['paths'])}"
        assert op["operationId"] == ep, op
        assert "200" in op["responses"] and "422" in op["responses"], f"{method} /{ep} responses: {op['responses']}"
    params = check.stdout.split("parameters:", 1)[1].splitlines() if "parameters:" in check.stdout else []
    for line in params:
        m = re.match(r"^\s+(\w+):", line)
        if m:
            assert "get" in doc["paths"].get(f"/parameters/{m.group(1)}", {}), f"parameter {m.group(1)} undocumented"
    for builtin in ("/parameters", "/notifications", "/health/live", "/health/ready", "/status"):
        assert builtin in doc["paths"], f"built-in route {builtin} missing from the document"


def test_hello_document_shape(runtime_bin):
    """The parts of hello's document a client relies on, spelled out (so a blind golden rewrite cannot hide them)."""
    doc, _ = openapi_of(runtime_bin, SERVICES["hello"])
    op = doc["paths"]["/hello"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["name"] == {"type": "string"}, body
    assert body["required"] == ["name"], body
    assert op["requestBody"]["required"] is True
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"type": "string"}
    assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HTTPValidationError"}
    greeting = doc["paths"]["/parameters/greeting_phrase"]
    assert set(greeting) == {"get", "post"}, greeting
    post_schema = greeting["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert post_schema["properties"]["greeting_phrase"]["type"] == "string", post_schema
    assert doc["info"] == {"title": "service 0.0.0", "version": "0.0.0"}, doc["info"]  # Daeploy's "name version"
    assert "servers" not in doc, "no --root-path: the document must not declare servers"


def test_types_document_schemas(runtime_bin):
    """A few schemas of the types service that encode the contract (components for classes, GET query params)."""
    doc, _ = openapi_of(runtime_bin, SERVICES["types"])
    schemas = doc["components"]["schemas"]
    assert schemas["Color"]["enum"] == ["red", "green"] and schemas["Color"]["type"] == "string", schemas["Color"]
    assert schemas["Level"]["enum"] == [1, 2] and schemas["Level"]["type"] == "integer", schemas["Level"]
    window = schemas["Window"]
    assert window["required"] == ["start", "end", "origin"], window
    assert window["properties"]["origin"] == {"$ref": "#/components/schemas/Point"}, window
    assert window["properties"]["start"] == {"type": "string", "format": "date-time"}, window
    assert schemas["Order"]["properties"].keys() >= {"itemId", "quantity", "note"}, schemas["Order"]
    assert schemas["Reading"]["required"] == ["sensor", "value"], schemas["Reading"]
    get_list = doc["paths"]["/get_list"]["get"]
    assert "requestBody" not in get_list
    assert get_list["parameters"] == [{"name": "xs", "in": "query", "required": True,
                                       "schema": {"type": "array", "items": {"type": "integer"}}}], get_list
    # the read-only parameter has no POST route; the exposed one does
    assert set(doc["paths"]["/parameters/labels"]) == {"get"}
    assert set(doc["paths"]["/parameters/threshold"]) == {"get", "post"}
    assert "x-mvi-ref" not in json.dumps(doc), "internal bookkeeping keys leaked into the document"


# --------------------------------------------------------------------------------------------------------------
# Determinism, HTTP, root path


@pytest.mark.parametrize("name", ["analytics", "types"])
def test_deterministic(runtime_bin, name):
    _, first = openapi_of(runtime_bin, SERVICES[name], fresh=True)
    _, second = openapi_of(runtime_bin, SERVICES[name], fresh=True)
    assert first == second, "two --openapi runs printed different documents:\n" + diff_text(first, second, "run 1",
                                                                                            "run 2")


def test_properties_and_required_keep_declaration_order(runtime_bin):
    """SPEC §5: as FastAPI writes them, not sorted (Window declares start, end, origin, label, repeat, tags)."""
    doc, _ = openapi_of(runtime_bin, SERVICES["types"])
    window = doc["components"]["schemas"]["Window"]
    assert list(window["properties"]) == ["start", "end", "origin", "label", "repeat", "tags"], window
    assert window["required"] == ["start", "end", "origin"], window
    paths = list(doc["paths"])
    assert paths.index("/health/live") < paths.index("/echo_str") < paths.index("/echo_int") < paths.index("/parameters"), paths


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_http_openapi_equals_cli(module_launcher, runtime_bin, name):
    cli, _ = openapi_of(runtime_bin, SERVICES[name])
    svc = module_launcher.start(SERVICES[name])
    first = svc.request("GET", "/openapi.json")
    assert first.status == 200, first
    assert first.headers.get("Content-Type", "").startswith("application/json"), first.headers
    assert isinstance(first.body, dict), f"/openapi.json is not a JSON object: {first!r}"
    if first.body != cli:
        pytest.fail("GET /openapi.json differs from `mvi-runtime --openapi`:\n"
                    + diff_text(canonical(cli), canonical(first.body), "--openapi", "GET /openapi.json"),
                    pytrace=False)
    second = svc.request("GET", "/openapi.json")
    assert second.raw == first.raw, "two GET /openapi.json answers differ"


def test_root_path_servers(start_service, runtime_bin, tmp_path):
    doc, _ = openapi_of(runtime_bin, SERVICES["hello"], "--root-path", ROOT_PATH)
    assert doc.get("servers") == [{"url": ROOT_PATH}], f"servers with --root-path {ROOT_PATH}: {doc.get('servers')!r}"
    plain, _ = openapi_of(runtime_bin, SERVICES["hello"])
    assert {k: v for k, v in doc.items() if k != "servers"} == plain, "--root-path changed more than `servers`"

    # the option is normalised (leading slash added, trailing slash dropped), also through the environment
    env_doc = run_command([runtime_bin, "--openapi", REPO / SERVICES["hello"]], timeout=30,
                          env={"MVI_ROOT_PATH": ROOT_PATH.strip("/") + "/"})
    assert env_doc.returncode == 0, env_doc.describe()
    assert json.loads(env_doc.stdout).get("servers") == [{"url": ROOT_PATH}], env_doc.stdout[:2000]

    # over HTTP, with and without the prefix
    svc = start_service(SERVICES["hello"], "--root-path", ROOT_PATH)
    for path in (f"{ROOT_PATH}/openapi.json", "/openapi.json"):
        resp = svc.request("GET", path)
        assert resp.status == 200, f"GET {path}: {resp}"
        assert resp.body == doc, f"GET {path} differs from --openapi --root-path"

    target = tmp_path / "hello_root_path.openapi.json"
    target.write_text(canonical(doc), encoding="utf-8")
    validate([target])


# --------------------------------------------------------------------------------------------------------------
# External OpenAPI 3.1 validation


def test_goldens_validate_as_openapi_31():
    paths = [GOLDEN_DIR / f"{name}.openapi.json" for name in sorted(SERVICES)]
    missing = [str(p) for p in paths if not p.is_file()]
    assert not missing, f"golden files missing: {missing} (run with MVI_UPDATE_GOLDEN=1)"
    result = validate(paths)
    for p in paths:
        assert f"valid {p}" in result.stdout, result.describe()


def test_live_documents_validate(runtime_bin, tmp_path):
    """What the binary prints now (not only the committed goldens) validates; one validator run for all services."""
    paths = []
    for name in sorted(SERVICES):
        doc, _ = openapi_of(runtime_bin, SERVICES[name])
        paths.append(tmp_path / f"{name}.openapi.json")
        paths[-1].write_text(canonical(doc), encoding="utf-8")
    result = validate(paths)
    for p in paths:
        assert f"valid {p}" in result.stdout, result.describe()


def test_validator_rejects_invalid_documents(tmp_path):
    """The validator itself works: each broken document is reported INVALID with a message naming the problem."""
    good = json.loads((GOLDEN_DIR / "hello.openapi.json").read_text(encoding="utf-8"))
    ok_schema = good["paths"]["/hello"]["post"]["responses"]["200"]["content"]["application/json"]
    cases = {
        "no_info_version": (lambda d: d["info"].pop("version"), "version"),
        "dangling_ref": (lambda d: d["paths"]["/hello"]["post"]["responses"]["200"]["content"]["application/json"]
                         .__setitem__("schema", {"$ref": "#/components/schemas/Nope"}), "Nope"),
        "bad_schema_keyword": (lambda d: d["components"]["schemas"]["HTTPError"].__setitem__("minProperties", "one"),
                               "minProperties"),
        "openapi_30": (lambda d: d.__setitem__("openapi", "3.0.3"), "3.1"),
    }
    assert ok_schema["schema"] == {"type": "string"}, "hello's golden changed; adapt the mutations above"
    files = {}
    for label, (mutate, _) in cases.items():
        doc = json.loads(json.dumps(good))
        mutate(doc)
        files[label] = tmp_path / f"{label}.json"
        files[label].write_text(json.dumps(doc), encoding="utf-8")
    result = run_command([*node_validator(), *files.values()], timeout=60)
    assert result.returncode == 1, f"the validator accepted broken documents\n{result.describe()}"
    report = result.stdout
    for label, (_, needle) in cases.items():
        start = report.find(f"INVALID {files[label]}")
        assert start >= 0, f"{label}: not reported INVALID\n{result.describe()}"
        section = report[start:].split("\n", 1)[1].split("INVALID", 1)[0].split("\nvalid ", 1)[0]
        assert needle in section, f"{label}: the message does not mention {needle!r}:\n{section}"
