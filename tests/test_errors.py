"""Bad input fails before any request with a typed error; API errors map to the hierarchy."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

import pytest

import converz
from converz.testing import Emulator, Faults


def test_unknown_keyword_and_wrong_types(client):
    with pytest.raises(TypeError, match="campain"):
        client.calls(campain="sales")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="start_date"):
        client.calls(start_date=20250701)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="campaign"):
        client.calls(campaign=[1.5])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"start_date": "2025-02-30"}, "start_date"),
        ({"start_date": "2025-09-01", "end_date": "2025-07-01"}, "start_date"),
        ({"after": "yesterday"}, "after"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 1_000_001}, "page_size"),
        ({"columns": ["a,b"]}, "columns"),
        ({"campaign": [""]}, "campaign"),
        ({"schema": {"x": "no-such-type"}}, "schema"),
    ],
)
def test_invalid_parameters_name_the_parameter(client, kwargs, parameter):
    with pytest.raises(converz.InvalidParameterError) as info:
        client.calls(**kwargs)
    assert info.value.parameter is not None and parameter in info.value.parameter
    assert isinstance(info.value, ValueError)


def test_aware_datetimes_are_refused(client):
    with pytest.raises(TypeError, match="naive"):
        client.calls(after=dt.datetime(2025, 7, 1, tzinfo=dt.timezone.utc))


def test_client_configuration_errors(monkeypatch):
    monkeypatch.delenv("CONVERZ_API_KEY", raising=False)
    monkeypatch.delenv("CONVERZ_BASE_URL", raising=False)
    with pytest.raises(converz.InvalidParameterError, match="base"):
        converz.Client(api_key="k")
    with pytest.raises(converz.InvalidParameterError, match="api_key"):
        converz.Client(base_url="http://127.0.0.1:1/api/v1")
    with pytest.raises(converz.InvalidParameterError, match="loopback"):
        converz.Client(api_key="k", base_url="http://example.com/api/v1")
    with pytest.raises(converz.InvalidParameterError, match="max_concurrency"):
        converz.Client(api_key="k", tenant="acme", max_concurrency=0)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"timeout": 1e20}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"connect_timeout": 1e300}, "connect_timeout"),
        ({"connect_timeout": -0.5}, "connect_timeout"),
        ({"backoff": 1e300}, "backoff"),
        ({"backoff": float("-inf")}, "backoff"),
        ({"retries": -1}, "retries"),
        ({"retries": 10**12}, "retries"),
        ({"max_concurrency": -1}, "max_concurrency"),
    ],
)
def test_timeouts_backoff_and_counts_are_checked_not_panicking(kwargs, parameter):
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.Client(api_key="k", tenant="acme", **kwargs)
    assert info.value.parameter == parameter


def test_largest_accepted_settings_work(read_emulator):
    client = read_emulator.client(
        timeout=86_400, connect_timeout=86_400, backoff=86_400, retries=1_000, progress=False
    )
    assert len(client.reps()) > 0


def test_environment_defaults(monkeypatch, read_emulator):
    monkeypatch.setenv("CONVERZ_API_KEY", read_emulator.api_key)
    monkeypatch.setenv("CONVERZ_BASE_URL", read_emulator.url)
    client = converz.Client(progress=False)
    assert client.base_url == read_emulator.url
    assert len(client.reps()) > 0
    assert converz.Client(tenant="acme").base_url == "https://acme.converz.co/api/v1"


def test_wrong_key_is_authentication_error(read_emulator):
    client = converz.Client(api_key="wrong", base_url=read_emulator.url, retries=0)
    with pytest.raises(converz.AuthenticationError) as info:
        client.reps()
    err = info.value
    assert err.status_code == 401 and err.code == "unauthorized"
    assert err.endpoint == "GET /reps"
    assert "api_key" in str(err) or "CONVERZ_API_KEY" in str(err)
    assert isinstance(err, converz.APIError)


def test_server_errors_after_retries_are_server_error(caplog):
    with (
        Emulator(calls=100, reps=5, error_rate=1.0, html_errors=True) as emu,
        caplog.at_level(logging.WARNING, logger="converz"),
    ):
        client = emu.client(retries=2, backoff=0.01, progress=False)
        with pytest.raises(converz.ServerError) as info:
            client.calls()
    assert info.value.status_code in (500, 503)
    assert "<" not in str(info.value)
    # The page's <title> and its <h1> say the same: said once (outside trial 23d: each retry
    # line read "503 Service Unavailable 503 Service Unavailable nginx").
    retries = [r.getMessage() for r in caplog.records if "HTTP 5" in r.getMessage()]
    lines = [str(info.value), *retries]
    assert retries, caplog.text
    for line in lines:  # "503 Service Unavailable nginx": the title, then the page's rest
        assert re.search(r"non-JSON error body: 5\d\d [A-Za-z ]+ nginx", line), line


def test_rate_limit_after_retries():
    with Emulator(calls=100, reps=5, rate_limit_rate=1.0, retry_after=0.01) as emu:
        client = emu.client(retries=2, backoff=0.01, progress=False)
        with pytest.raises(converz.RateLimitError) as info:
            client.reps()
    assert info.value.status_code == 429
    assert info.value.retry_after == pytest.approx(0.01)


def test_connection_refused_is_transport_error():
    with Emulator(calls=10, reps=2) as emu:
        url = emu.url
    client = converz.Client(api_key="k", base_url=url, retries=1, backoff=0.01, timeout=5)
    with pytest.raises(converz.TransportError) as info:
        client.reps()
    assert isinstance(info.value, ConnectionError)
    assert info.value.endpoint == "GET /reps"


def test_a_list_column_forced_to_text_keeps_its_json_text(write_emulator):
    """Outside trial 16c: schema={col: str} on a list column failed, with a hint recommending
    "str". Outside trial 23b: the README says "str" keeps every value as the server sent it, yet
    it refused lists and objects. Each is now its JSON text, eager and streamed alike."""
    pl = pytest.importorskip("polars")
    client = write_emulator.client(progress=False)
    ids = client.calls(page_size=5_000).to_polars()["call_id"].head(3).to_list()
    frame = pl.DataFrame({"call_id": ids, "tags": [["a", "b"], ["c"], []]})
    assert client.push_updates(frame).updated == 3
    mine = pl.col("call_id").is_in(ids)
    forced = client.calls(metric=["tags"], schema={"tags": str})
    assert not forced.warnings
    for table in (
        forced,
        converz.Table.concat(client.iter_calls(metric=["tags"], schema={"tags": "str"})),
    ):
        text = table.to_polars().filter(mine)["tags"]
        assert text.dtype == pl.String
        assert [json.loads(v) for v in text] == [["a", "b"], ["c"], []]
    # Without schema= the column is read as lists.
    table = client.calls(metric=["tags"]).to_polars()
    assert table.filter(mine)["tags"].to_list() == [["a", "b"], ["c"], []]


def test_a_list_column_gets_hints_that_do_not_loop(write_emulator, tmp_path, monkeypatch, capsys):
    """Outside trial 17: a list column forced to int64, or written to CSV, got the type hint
    ("str"), whose advice failed in turn. Each now says what works, and what it says works."""
    pl = pytest.importorskip("polars")
    from converz.__main__ import main

    client = write_emulator.client(progress=False)
    ids = client.calls(page_size=5_000).to_polars()["call_id"].head(2).to_list()
    assert client.push_updates(pl.DataFrame({"call_id": ids, "l": [[1, 2], [3]]})).updated == 2
    mine = pl.col("call_id").is_in(ids)
    for kind in ("int64", "bool", "date32"):
        with pytest.raises(converz.DecodeError) as failed:
            client.calls(metric=["l"], schema={"l": kind})
        # The value is named, not re-printed by arrow-json (which drops an object's commas).
        assert "got a list" in str(failed.value) and "[1" not in str(failed.value)
        assert "list or object" in failed.value.hint and '"str"' in failed.value.hint
    # What the hint says works.
    text = client.calls(metric=["l"], schema={"l": "str"}).to_polars().filter(mine)["l"]
    assert [json.loads(v) for v in text] == [[1, 2], [3]]
    struct = pl.DataFrame({"call_id": ids, "o": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]})
    assert client.push_updates(struct).updated == 2
    with pytest.raises(converz.DecodeError) as failed:
        client.calls(metric=["o"], schema={"o": "float64"})
    assert "got an object" in str(failed.value) and '""' not in str(failed.value)
    text = client.calls(metric=["o"], schema={"o": "str"}).to_polars().filter(mine)["o"]
    assert [json.loads(v) for v in text] == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    monkeypatch.setenv("CONVERZ_BASE_URL", write_emulator.url)
    monkeypatch.setenv("CONVERZ_API_KEY", write_emulator.api_key)
    out = tmp_path / "calls.csv"
    assert main(["fetch", "calls", "--metric", "l", "-o", str(out)]) == 1
    said = capsys.readouterr().err
    assert ".parquet" in said and '"str"' not in said, said
    # What the hint says works.
    assert main(["fetch", "calls", "--metric", "l", "-o", str(tmp_path / "calls.parquet")]) == 0
    assert not out.exists()


def test_a_number_too_large_for_a_narrow_forced_type_names_the_wider_one():
    """Outside trial 23d: `schema={"duration": "int8"}` over durations past 127 got the generic
    hint ("str"); it names int64, which keeps them numbers, and following it works."""
    with Emulator(calls=50, reps=2, seed=1) as emu:
        client = emu.client(progress=False)
        with pytest.raises(converz.DecodeError) as failed:
            client.calls(schema={"duration": "int8"})
        hint = str(failed.value.hint)
        assert 'schema={"duration": "int64"}' in hint and "Int8" in hint, hint
        assert client.calls(schema={"duration": "int64"}).num_rows == 50


def _range_cases(client: converz.Client, url: str, tmp: Any) -> list[tuple[str, Any, str]]:
    """(parameter, call, what it was given as the message shows it)."""
    import polars as pl

    frame = pl.DataFrame({"call_id": [1]})

    def new(**kwargs: Any) -> Any:
        return lambda: converz.Client(api_key="k", base_url=url, **kwargs)

    return [
        ("max_concurrency", new(max_concurrency=0), "0"),
        ("max_concurrency", new(max_concurrency=65), "65"),
        ("max_concurrency", new(max_concurrency=10**40), "a number beyond that"),
        ("retries", new(retries=-1), "-1"),
        ("page_size", lambda: client.calls(page_size=-1), "-1"),
        ("page_size", lambda: client.reps(page_size=10**9), "1000000000"),
        ("page_size", lambda: client.iter_calls(page_size=0), "0"),
        ("chunk_rows", lambda: client.push_updates(frame, chunk_rows=-5), "-5"),
        ("chunk_rows", lambda: client.push_updates(frame, chunk_rows=100_001), "100001"),
        ("days", lambda: client.report(days=0), "0"),
        # Beyond an i64 (outside trial 71 F7: "is out of range", without the range).
        ("days", lambda: client.report(days=2**64), str(2**64)),
        ("days", lambda: client.report(days=-(2**70)), str(-(2**70))),
        ("batch_size", lambda: client.scan_calls(batch_size=0).collect(), "0"),
        ("overlap_days", lambda: client.sync_calls(tmp, overlap_days=-1), "-1"),
        ("overlap_days", lambda: client.sync_calls(tmp, overlap_days=36_501), "36501"),
        ("error_rate", lambda: Faults(error_rate=2), "2"),
        ("latency", lambda: Faults(latency=-1), "-1"),
        ("bandwidth", lambda: Faults(bandwidth=1), "1"),
    ]


def test_every_number_out_of_range_is_told_the_same_way(tmp_path):
    """A number outside its range was worded four ways (`days` said what it got, `page_size`
    and `chunk_rows` did not, `batch_size` and `overlap_days` had their own sentences, and a
    negative page size was told as 0): each now says its bounds and the value given, in one
    form, before any request."""
    with Emulator(calls=10, reps=2, seed=0) as emu:
        client = emu.client(progress=False)
        for parameter, call, given in _range_cases(client, emu.url, tmp_path / "sync"):
            with pytest.raises(converz.InvalidParameterError) as info:
                call()
            said = str(info.value).splitlines()[0]
            form = rf"invalid parameter `{parameter}`: must be between -?\d+ and \d+.*, got "
            assert re.match(form + re.escape(given) + r"($|\W)", said), said
            assert info.value.parameter == parameter, said
        assert emu.wire_stats()["responses"] == 0
