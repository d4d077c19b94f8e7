"""`converz.Client` sends no request anywhere the caller did not name: a tenant is one
subdomain, a base URL has no whitespace, query or fragment; anything else is an
InvalidParameterError naming the parameter, raised when the client is built.
"""

from __future__ import annotations

import socket
from typing import Any

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
