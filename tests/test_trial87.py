"""Outside trial 87: a key pasted into `base_url` shown whole by a client's repr."""

from __future__ import annotations

import pytest

import converz
import converz.dask
import converz.testing
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


def test_a_capped_page_size_is_said_once_across_a_plans_tasks(caplog):
    """A6: the warning that the server caps the page size was logged by every partition's task
    (130 identical lines for one day-partitioned job); it is the server's, said once."""
    from converz._plan import plan_calls

    with converz.testing.Emulator(calls=600, reps=5, seed=87, days=6, page_cap=7) as emu:
        days = sorted(
            converz.Client(base_url=emu.url, api_key=emu.api_key)
            .calls()
            .to_arrow()
            .column("date")
            .to_pylist()
        )
        config = ClientConfig.resolve(base_url=emu.url, api_key=emu.api_key, page_size=10)
        query = converz.CallsQuery(start_date=days[0], end_date=days[-1])
        tasks = plan_calls(query, config, partition="day")
        assert len(tasks) >= 3
        caplog.clear()
        with caplog.at_level("WARNING", logger="converz"):
            rows = sum(task.fetch().num_rows for task in tasks)
    assert rows == len(days)
    said = [r.getMessage() for r in caplog.records if "caps the page size" in r.getMessage()]
    assert len(said) == 1, said
