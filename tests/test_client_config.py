"""`converz.Client` settings are checked when the client is built: a wrong type or value is an
InvalidParameterError naming the parameter, and no request goes anywhere the caller did not
name (a tenant is one subdomain, a base URL has no whitespace, query or fragment).
"""

from __future__ import annotations

import socket
from typing import Any

import numpy as np
import pytest

import converz
from converz._plan import ClientConfig

BAD_TENANTS: list[Any] = [
    "127.0.0.1:{port}/#",
    "evil.example/#",
    "acme.evil",
    "user@evil",
    "acme/",
    "acme#",
    "ac me",
    "acme\n",
    "-acme",
    "acme-",
    "",
    "a" * 64,
    "acmé",
    b"acme",
    ("acme",),
    12,
]


@pytest.fixture
def listener() -> Any:
    """A loopback port that records whether anything connected to it."""
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    sock.close()


def nobody_connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
    except socket.timeout:
        return True
    return False


@pytest.mark.parametrize("tenant", BAD_TENANTS, ids=repr)
def test_a_tenant_must_be_one_subdomain_name(listener, tenant):
    if isinstance(tenant, str):
        tenant = tenant.replace("{port}", str(listener.getsockname()[1]))
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.Client(tenant=tenant, api_key="k", retries=0).reps()
    assert info.value.parameter == "tenant"
    with pytest.raises(converz.InvalidParameterError) as info:
        ClientConfig.resolve(tenant=tenant, api_key="k")
    assert info.value.parameter == "tenant"
    assert nobody_connected(listener)


@pytest.mark.parametrize("tenant", ["acme", "a", "A-1", "0acme", "x" * 63])
def test_subdomain_names_are_accepted(tenant):
    assert converz.Client(tenant=tenant, api_key="k").base_url == (
        f"https://{tenant}.converz.co/api/v1"
    )
    config = ClientConfig.resolve(tenant=tenant, api_key="k")
    assert config.base_url == f"https://{tenant}.converz.co/api/v1"


@pytest.mark.parametrize(
    "base_url",
    [
        " https://acme.converz.co/api/v1",
        "https://acme.converz.co/api/v1 ",
        "https://acme.converz.co/api/v1\n",
        "https://ac\tme.converz.co/api/v1",
        "https://127.0.0.1:9/#.converz.co/api/v1",
        "https://acme.converz.co/api/v1?page=2",
    ],
)
def test_a_base_url_with_whitespace_query_or_fragment_is_refused(base_url):
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.Client(base_url=base_url, api_key="k")
    assert info.value.parameter == "base_url"


BAD_SETTINGS: list[tuple[str, Any]] = [
    ("timeout", "5"),
    ("timeout", None),
    ("timeout", True),
    ("timeout", 10**400),
    ("timeout", [5]),
    ("connect_timeout", "1"),
    ("backoff", b"1"),
    ("retries", 2**63),
    ("retries", -(2**70)),
    ("retries", 1.0),
    ("retries", "3"),
    ("retries", True),
    ("retries", None),
    ("max_concurrency", 2.5),
    ("max_concurrency", 0),
    ("max_concurrency", 65),
    ("max_concurrency", 2**64),
    ("page_size", 1.5),
    ("page_size", 0),
    ("page_size", -1),
    ("page_size", 1_000_001),
    ("page_size", 2**80),
    ("page_size", "100"),
    ("page_size", False),
    ("progress", "yes"),
    ("progress", 1),
    ("api_key", 123),
    ("api_key", b"secret"),
    # Not a header value: refused before anything is sent, without showing the key.
    ("api_key", "   "),
    ("api_key", "secret key"),
    ("api_key", "secret-kéy"),
    ("api_key", "secret\n"),
]


@pytest.mark.parametrize(("parameter", "value"), BAD_SETTINGS, ids=lambda v: repr(v)[:24])
def test_wrong_settings_name_the_parameter_at_construction(parameter, value):
    settings = {"api_key": "k", "tenant": "acme", parameter: value}
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.Client(**settings)
    assert info.value.parameter == parameter, str(info.value)
    assert isinstance(info.value, ValueError)
    if parameter == "api_key":
        assert "secret" not in str(info.value) and "123" not in str(info.value)


def test_a_base_url_that_is_not_a_str_names_base_url():
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.Client(base_url=b"https://acme.converz.co/api/v1", api_key="k")  # type: ignore[arg-type]
    assert info.value.parameter == "base_url"


def test_numbers_of_every_kind_are_accepted(read_emulator):
    client = converz.Client(
        base_url=read_emulator.url,
        api_key=read_emulator.api_key,
        timeout=np.float32(60.5),
        connect_timeout=5,
        retries=np.int64(2),
        backoff=np.float64(0.01),
        max_concurrency=np.int32(3),
        page_size=np.int64(50),
        progress=False,
    )
    assert client._raw.max_concurrency == 3
    assert client._raw.page_size == 50
    assert len(client.reps()) == len(read_emulator.client(progress=False).reps())
