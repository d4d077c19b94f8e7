"""Outside trial 87: a key pasted into `base_url` shown whole by a client's repr."""

from __future__ import annotations

import pytest

import converz
import converz.dask
from converz._plan import ClientConfig

KEY = "sk_live_SECRETkey1234567890abcdef"


def test_a_key_in_base_url_is_not_shown_by_reprs():
    """A0: `Client(base_url=f".../{KEY}/api/v1")` printed the key whole in `repr(client)` and
    `str(client)`, in either case; the README says the key is never in `repr(client)`."""
    for written in (KEY, KEY.upper()):
        url = f"http://127.0.0.1:9/{written}/api/v1"
        client = converz.Client(base_url=url, api_key=KEY)
        config = ClientConfig.resolve(base_url=url, api_key=KEY)
        for shown in (repr(client), str(client), repr(config)):
            assert "/***/api/v1" in shown, shown
            assert written not in shown and KEY.lower() not in shown.lower(), shown


def test_a_schema_naming_no_column_is_refused():
    """A4: `schema={"": "int64"}` was taken and typed nothing."""
    for name in ("", "  "):
        with pytest.raises(converz.InvalidParameterError) as caught:
            converz.dask.read_calls(
                start_date="2024-01-01",
                end_date="2024-01-01",
                base_url="http://127.0.0.1:9",
                api_key=KEY,
                schema={name: "int64"},
            )
        assert caught.value.parameter == "schema"
