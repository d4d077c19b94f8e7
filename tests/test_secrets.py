"""The API key never appears in a repr, an error, a log line or a traceback."""

from __future__ import annotations

import logging
import traceback

import pytest

import converz
from converz.testing import Emulator

SECRET = "sk-live-0123456789-very-secret"


def test_repr_and_errors_do_not_leak_the_key(caplog):
    caplog.set_level(logging.DEBUG)
    with Emulator(calls=50, reps=5, api_key="the-right-key", seed=11) as emu:
        client = converz.Client(api_key=SECRET, base_url=emu.url, retries=2, backoff=0.01)
        texts = [repr(client), str(client), repr(client._raw)]
        with pytest.raises(converz.AuthenticationError) as info:
            client.calls()
        texts += [str(info.value), repr(info.value)]
        texts.append("".join(traceback.format_exception(info.value)))
        emu.set_faults(error_rate=0.5)
        good = emu.client(retries=20, backoff=0.001, progress=False)
        good.calls(page_size=5)  # retries log warnings
    texts += [record.getMessage() for record in caplog.records]
    assert any("retrying" in t for t in texts), "expected retry log lines to check"
    for text in texts:
        assert SECRET not in text
        assert emu.api_key not in text


def test_plain_http_refused_except_loopback():
    with pytest.raises(converz.InvalidParameterError):
        converz.Client(api_key=SECRET, base_url="http://acme.converz.co/api/v1")
    for url in ("http://127.0.0.1:9/api/v1", "http://localhost:9/api/v1", "http://[::1]:9/"):
        assert converz.Client(api_key=SECRET, base_url=url).base_url.startswith("http://")
