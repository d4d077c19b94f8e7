"""The emulator's OpenAPI document: complete, and every answer conforms to it (schemathesis)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any, Optional

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from converz.testing import Emulator

#: What every generated request is checked for: no 5xx (no fault is configured), a documented
#: status code, content type, headers and body.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
#: Per operation and generation mode; 5 operations x 2 modes x 25 stays well under a minute.
EXAMPLES = 25
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=2_000, reps=20, seed=3) as server:
        yield server


def fetch(
    emu: Emulator, path: str, params: Optional[dict[str, Any]] = None, method: str = "GET"
) -> tuple[int, Any]:
    query = urllib.parse.urlencode(params or {}, doseq=True)
    request = urllib.request.Request(
        f"{emu.url}{path}?{query}",
        headers={"X-API-Key": emu.api_key, "Content-Type": "application/json"},
        method=method,
        data=b"[]" if method in ("POST", "PUT", "PATCH") else None,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def document(emu: Emulator) -> dict[str, Any]:
    with urllib.request.urlopen(f"{emu.url}/openapi.json", timeout=30) as response:
        assert response.headers["content-type"] == "application/json"
        return dict(json.loads(response.read()))


def example(schema: dict[str, Any]) -> str:
    """A valid value of a query parameter, as text."""
    if schema["type"] == "integer":
        return str(schema.get("default", schema["minimum"]))
    if schema["type"] == "array":
        return str(schema["items"].get("enum", ["x"])[0])
    return "2025-09-01 10:00" if ":" in schema["pattern"] else "2025-09-01"


def test_document_is_openapi_3_with_every_operation(document):
    assert document["openapi"].startswith("3.")
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("/reps", "get"),
        ("/reps", "post"),
        ("/calls", "get"),
        ("/calls", "post"),
        ("/report", "get"),
        ("/openapi.json", "get"),
    }
    groupby = next(
        p for p in document["paths"]["/report"]["get"]["parameters"] if p["name"] == "groupby"
    )
    assert "quarter" in groupby["schema"]["items"]["enum"]


def test_every_documented_route_and_parameter_is_served_and_nothing_else(emu, document):
    for path, item in document["paths"].items():
        for method in METHODS:
            status, payload = fetch(emu, path, method=method.upper())
            if method in item:
                assert status == 200, (method, path, payload)
            else:
                assert (status, payload["code"]) == (405, "method_not_allowed"), (method, path)
        if "get" not in item:
            continue
        documented = {p["name"] for p in item["get"].get("parameters", [])}
        for param in item["get"].get("parameters", []):
            status, payload = fetch(emu, path, {param["name"]: example(param["schema"])})
            assert status == 200, (path, param["name"], payload)
        if path != "/openapi.json":
            status, payload = fetch(emu, path, {"undocumented": "1"})
            assert (status, payload["code"]) == (400, "invalid_parameter")
            assert documented  # every data endpoint takes parameters
    assert fetch(emu, "/undocumented")[0] == 404


def test_attributes_a_post_adds_are_documented_columns(emu, document):
    def call_columns(doc: dict[str, Any]) -> list[str]:
        params = doc["paths"]["/calls"]["get"]["parameters"]
        return list(next(p for p in params if p["name"] == "columns")["schema"]["items"]["enum"])

    assert "label" not in call_columns(document)
    first = fetch(emu, "/calls", {"n_per_page": 1})[1][0]["call_id"]
    status, _ = fetch_post(emu, "/calls", {"call_id": [first], "label": ["x"]})
    assert status == 200
    with urllib.request.urlopen(f"{emu.url}/openapi.json", timeout=30) as response:
        assert "label" in call_columns(json.loads(response.read()))


def fetch_post(emu: Emulator, path: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{emu.url}{path}",
        data=json.dumps(body).encode(),
        headers={"X-API-Key": emu.api_key, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


# The fuzzer's tenant is started at collection, since schemathesis builds its tests from the
# document then (its lazy fixture loader does not work with current pytest). It has a tenant of
# its own: the fuzzer's POSTs add attributes the other tests do not expect.
FUZZED = Emulator(calls=2_000, reps=20, seed=4)
schema = schemathesis.openapi.from_url(f"{FUZZED.url}/openapi.json")
schema.config.update(base_url=FUZZED.url)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)


@pytest.fixture(scope="module", autouse=True)
def _stop_the_fuzzed_tenant() -> Iterator[None]:
    yield
    FUZZED.stop()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_conforms_to_the_document(case):
    case.call_and_validate(headers={"X-API-Key": FUZZED.api_key}, checks=CHECKS)
