"""`ConverzHook.test_connection` without Airflow installed: the hook's base class is stubbed, as
only the connection test is under test (tests/test_airflow.py runs the provider in Airflow)."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from typing import Callable

import pytest
from hostile_support import KEY, RawServer, Request, Responder, response, serving
from test_hostile_paging import page_of

import converz

LIMIT = 500  # the most rows the server below serves per page


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


@pytest.fixture
def hook_type(monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    airflow = types.ModuleType("airflow")
    sdk = types.ModuleType("airflow.sdk")
    exceptions = types.ModuleType("airflow.exceptions")
    sdk.BaseHook = type("BaseHook", (), {})  # type: ignore[attr-defined]
    sdk.BaseOperator = type("BaseOperator", (), {})  # type: ignore[attr-defined]
    exceptions.AirflowException = type("AirflowException", (Exception,), {})  # type: ignore[attr-defined]
    for name, module in {
        "airflow": airflow,
        "airflow.sdk": sdk,
        "airflow.exceptions": exceptions,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    for name in [n for n in sys.modules if n.startswith("converz.airflow.")]:
        monkeypatch.delitem(sys.modules, name)
    from converz.airflow.hooks import ConverzHook

    yield ConverzHook
    for name in [n for n in sys.modules if n.startswith("converz.airflow.")]:
        del sys.modules[name]


def reps_up_to_the_limit(request: Request) -> bytes:
    page, size = page_of(request)
    if size > LIMIT:
        body = json.dumps({"error": f"n_per_page must be <= {LIMIT}", "code": "invalid_parameter"})
        return response("400 Bad Request", body.encode(), "Content-Type: application/json")
    ids = range((page - 1) * size + 1, min(page * size, 40) + 1)
    body = json.dumps([{"rep_id": f"r{i:03}"} for i in ids]).encode()
    return response("200 OK", body, "Content-Type: application/json")


def connection_test(hook_type: type, client: converz.Client) -> tuple[bool, str]:
    hook = hook_type.__new__(hook_type)
    hook.get_client = lambda: client
    result: tuple[bool, str] = hook.test_connection()
    return result


def test_the_test_button_asks_the_page_size_fetches_ask(serve, hook_type):
    server = serve(reps_up_to_the_limit)
    ok, message = connection_test(hook_type, server.client(timeout=5.0, page_size=LIMIT + 1))
    # Every fetch of this connection would fail: so does its test, saying why.
    assert not ok and f"n_per_page must be <= {LIMIT}" in message, message
    assert KEY not in message
    assert {page_of(r)[1] for r in server.requests} == {LIMIT + 1}


def test_the_test_button_reads_one_page_not_every_user(serve, hook_type):
    server = serve(reps_up_to_the_limit)
    assert connection_test(
        hook_type, server.client(timeout=5.0, page_size=10, max_concurrency=1)
    ) == (
        True,
        "connected",
    )
    # Not 40 requests of one user each: one page at the size asked (and the next, in flight).
    asked = [page_of(r) for r in server.requests]
    assert asked and all(size == 10 for _, size in asked) and len(asked) <= 2, asked
