"""A wrong type is a converz error that is also a TypeError, names the parameter, sends nothing.

Every public entry point that takes filters is tried with every kind of wrong value: a query
value, keyword filters, a query of the other endpoint, both at once, an unknown keyword, and the
plain options (``page_size``, ``parse_dates``, ``progress``, ``batch_size``). Each must raise
:class:`converz.InvalidParameterTypeError` (so ``except converz.ConverzError`` and ``except
TypeError`` both catch it) with ``parameter`` naming the argument at fault, and the emulator
must have answered no request at all.
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import converz
from converz.testing import Emulator

Call = Callable[..., Any]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=300, reps=12, seed=5) as emu:
        yield emu


@pytest.fixture(scope="module")
def client(emu: Emulator) -> converz.Client:
    return emu.client(progress=False)


def refused(emu: Emulator, call: Callable[[], Any], parameter: str) -> converz.ConverzError:
    """``call`` raises the typed error naming ``parameter``, and nothing reached ``emu``."""
    before = emu.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterTypeError) as info:
        call()
    err = info.value
    assert isinstance(err, converz.ConverzError)
    assert isinstance(err, converz.InvalidParameterError)
    assert isinstance(err, TypeError) and isinstance(err, ValueError)
    assert err.parameter == parameter
    assert parameter in str(err)
    assert emu.wire_stats()["responses"] == before, "a request was sent"
    return err


# --- the entry points: (client, emulator) -> a callable taking a query and/or keywords --------


def _dask(name: str) -> Callable[[converz.Client, Emulator], Call]:
    def make(client: converz.Client, emu: Emulator) -> Call:
        dask = pytest.importorskip("converz.dask")
        read = getattr(dask, name)
        return lambda *query, **kw: read(*query, base_url=emu.url, api_key=emu.api_key, **kw)

    return make


def _method(name: str) -> Callable[[converz.Client, Emulator], Call]:
    return lambda client, emu: getattr(client, name)


CALLS_ENTRIES = {
    "calls": _method("calls"),
    "iter_calls": _method("iter_calls"),
    "scan_calls": _method("scan_calls"),
    "CallsQuery": lambda client, emu: lambda **kw: converz.CallsQuery(**kw),
    "CallsQuery.replace": lambda client, emu: lambda **kw: converz.CallsQuery().replace(**kw),
    "dask.read_calls": _dask("read_calls"),
}
REPS_ENTRIES = {
    "reps": _method("reps"),
    "iter_reps": _method("iter_reps"),
    "scan_reps": _method("scan_reps"),
    "RepsQuery": lambda client, emu: lambda **kw: converz.RepsQuery(**kw),
    "dask.read_reps": _dask("read_reps"),
}
REPORT_ENTRIES = {
    "report": _method("report"),
    "scan_report": _method("scan_report"),
    "ReportQuery": lambda client, emu: lambda **kw: converz.ReportQuery(**kw),
}

AWARE = dt.datetime(2025, 7, 1, 9, tzinfo=dt.timezone.utc)
CALLS_VALUES = [
    ("start_date", 20250701),
    ("end_date", [2025, 7, 1]),
    ("after", 1.5),
    ("before", b"2025-07-01"),
    ("after", AWARE),
    ("metric", 5),
    ("rep_id", {"a": 1}),
    ("vendor", b"acme"),
    ("campaign", 5),
    ("subcampaign", [1.5]),
    ("department", ["support", None]),
    ("vendor_call_id", 3.5),
    ("columns", object()),
    ("campain", "sales"),  # an unknown keyword names itself
]
REPS_VALUES = [
    ("rep_id", 5),
    ("department", b"support"),
    ("active", "yes"),
    ("active", 2),
    ("rep_idd", "x"),
]
REPORT_VALUES = [
    ("start_date", 123),
    ("days", "7"),
    ("days", True),
    ("groupby", 5),
    ("metric", [1.5]),
    ("campaign", 7),
    ("group_by", "week"),
]


def _cases(entries: dict[str, Any], values: list[tuple[str, Any]]) -> list[Any]:
    return [
        pytest.param(entries[entry], name, value, id=f"{entry}-{name}={value!r:.20}")
        for entry in entries
        for name, value in values
    ]


@pytest.mark.parametrize(
    ("entry", "name", "value"),
    _cases(CALLS_ENTRIES, CALLS_VALUES)
    + _cases(REPS_ENTRIES, REPS_VALUES)
    + _cases(REPORT_ENTRIES, REPORT_VALUES),
)
def test_a_wrong_filter_type_is_a_converz_type_error(client, emu, entry, name, value):
    call = entry(client, emu)
    refused(emu, lambda: call(**{name: value}), name)


# --- the items of a list filter --------------------------------------------------------------

# Every list filter is text in the API (rep_id and vendor_call_id too): an item of another type
# is refused, never sent as its str() ("5", "True", "1.5").
BAD_ITEMS = [5, True, 1.5, np.int64(1), np.bool_(True), None, b"sales", ("sales",)]
LIST_ENTRIES = [
    (CALLS_ENTRIES, converz.CallsQuery),
    (REPS_ENTRIES, converz.RepsQuery),
    (REPORT_ENTRIES, converz.ReportQuery),
]


def _list_cases() -> list[Any]:
    from converz._query import list_filters

    cases = []
    for entries, query_type in LIST_ENTRIES:
        for entry in entries:
            for i, name in enumerate(list_filters(query_type)):
                # Each filter meets a different bad item, alone and after a good one; every bad
                # item is tried on `campaign` (or `department`, which /reps has instead).
                picked = BAD_ITEMS if name in ("campaign", "department") else [BAD_ITEMS[i]]
                for bad in picked:
                    for items, index in (([bad], 0), (["sales", bad], 1)):
                        cases.append(
                            pytest.param(
                                entries[entry],
                                name,
                                items,
                                index,
                                id=f"{entry}-{name}={items!r:.24}",
                            )
                        )
    return cases


@pytest.mark.parametrize(("entry", "name", "items", "index"), _list_cases())
def test_a_list_filter_item_that_is_not_text_is_refused(client, emu, entry, name, items, index):
    call = entry(client, emu)
    err = refused(emu, lambda: call(**{name: items}), name)
    assert f"item {index}" in str(err) and type(items[index]).__name__ in str(err)


@pytest.mark.parametrize("name", ["campaign", "vendor_call_id", "rep_id"])
def test_a_list_filter_item_is_refused_by_sync_too(client, emu, tmp_path, name):
    path = tmp_path / "calls"
    err = refused(
        emu, lambda: client.sync_calls(path, start_date="2025-09-01", **{name: [7]}), name
    )
    assert "item 0" in str(err)
    refused(emu, lambda: client.sync_calls(path, **{name: ["a", 7]}), name)
    refused(emu, lambda: client.sync_calls(path, **{name: 7}), name)
    assert not path.exists()


def test_text_lists_are_kept_as_given():
    # (Sorted: the values are a set to match, see tests/test_query.py.)
    q = converz.CallsQuery(campaign=["sales", "5"], vendor_call_id=("7",), rep_id=iter(["a"]))
    assert (q.campaign, q.vendor_call_id, q.rep_id) == (("5", "sales"), ("7",), ("a",))
    assert converz.ReportQuery(department="support").department == ("support",)


QUERY_TAKERS = {
    "calls": (_method("calls"), converz.CallsQuery, converz.RepsQuery()),
    "iter_calls": (_method("iter_calls"), converz.CallsQuery, converz.ReportQuery()),
    "scan_calls": (_method("scan_calls"), converz.CallsQuery, 5),
    "dask.read_calls": (_dask("read_calls"), converz.CallsQuery, converz.RepsQuery()),
    "reps": (_method("reps"), converz.RepsQuery, converz.CallsQuery()),
    "iter_reps": (_method("iter_reps"), converz.RepsQuery, "rep_id=a"),
    "scan_reps": (_method("scan_reps"), converz.RepsQuery, 5),
    "dask.read_reps": (_dask("read_reps"), converz.RepsQuery, converz.CallsQuery()),
    "report": (_method("report"), converz.ReportQuery, converz.CallsQuery()),
    "scan_report": (_method("scan_report"), converz.ReportQuery, [("days", 7)]),
}


@pytest.mark.parametrize("entry", QUERY_TAKERS.values(), ids=list(QUERY_TAKERS))
def test_a_query_of_the_wrong_type_or_with_keywords_names_query(client, emu, entry):
    make, query_type, wrong = entry
    call = make(client, emu)
    err = refused(emu, lambda: call(wrong), "query")
    assert type(wrong).__name__ in str(err)
    both = {"rep_id": "a"} if query_type is not converz.ReportQuery else {"days": 7}
    err = refused(emu, lambda: call(query_type(), **both), "query")
    assert "not both" in str(err)


OPTIONS = [
    ("page_size", "1000"),
    ("page_size", True),
    ("page_size", 10.0),
    ("parse_dates", "no"),
    ("parse_dates", None),
]


@pytest.mark.parametrize(
    "method", ["calls", "reps", "iter_calls", "iter_reps", "scan_calls", "scan_reps"]
)
@pytest.mark.parametrize(("name", "value"), OPTIONS, ids=[f"{n}={v!r}" for n, v in OPTIONS])
def test_wrong_typed_options_of_the_reads(client, emu, method, name, value):
    refused(emu, lambda: getattr(client, method)(**{name: value}), name)


@pytest.mark.parametrize("value", [3, "yes", 1.0])
def test_progress_takes_true_false_or_none(client, emu, value):
    refused(emu, lambda: client.calls(progress=value), "progress")
    refused(emu, lambda: client.reps(progress=value), "progress")


@pytest.mark.parametrize("method", ["iter_calls", "iter_reps", "scan_calls", "scan_reps"])
def test_progress_on_a_stream_or_scan_is_refused_by_name(client, emu, method):
    # The outside trial found "CallsQuery got unexpected keyword" for a stream's progress=.
    refused(emu, lambda: getattr(client, method)(progress=True), "progress")
    if method.startswith("iter"):
        with pytest.raises(converz.InvalidParameterTypeError, match="eager fetches"):
            getattr(client, method)(progress=True)


def test_a_report_scan_checks_its_filters_when_built_not_when_collected(client, emu):
    # /report is fetched only at collect(); a wrong filter must still fail at the call.
    refused(emu, lambda: client.scan_report(groupby=5), "groupby")
    refused(emu, lambda: client.scan_report(parse_dates="no"), "parse_dates")


@pytest.mark.parametrize("method", ["scan_calls", "scan_reps", "scan_report"])
def test_batch_size_is_checked_when_the_scan_is_built(client, emu, method):
    refused(emu, lambda: getattr(client, method)(batch_size="100"), "batch_size")
    with pytest.raises(converz.InvalidParameterError) as info:
        getattr(client, method)(batch_size=0)
    assert info.value.parameter == "batch_size"


def test_split_arguments_of_the_wrong_type(emu):
    q = converz.CallsQuery(start_date="2025-07-01", end_date="2025-07-03")
    refused(emu, lambda: q.split(by=3), "by")  # type: ignore[arg-type]
    refused(emu, lambda: q.split(parts="2"), "parts")  # type: ignore[arg-type]
    refused(emu, lambda: converz.RepsQuery(rep_id=["a", "b"]).split(parts=1.0), "parts")  # type: ignore[arg-type]


def test_the_error_pickles_with_its_parameter():
    with pytest.raises(converz.InvalidParameterTypeError) as info:
        converz.CallsQuery(campaign=5)  # type: ignore[arg-type]
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is converz.InvalidParameterTypeError
    assert (back.parameter, str(back)) == ("campaign", str(info.value))


# --- property: any wrong-typed value of any filter ---------------------------------------------

# None of these is a date, a datetime, an ISO string or a list of strings: each is a wrong type
# for every calls filter.
WRONG = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.binary(),
    st.complex_numbers(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(
        st.one_of(st.integers(), st.floats(), st.binary(), st.none(), st.booleans()), min_size=1
    ),
    st.builds(object),
)
CALLS_FILTERS = sorted(converz.CallsFilters.__annotations__)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(CALLS_FILTERS), value=WRONG)
def test_any_wrong_typed_calls_filter_is_refused_before_sending(client, emu, name, value):
    refused(emu, lambda: client.calls(**{name: value}), name)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.one_of(WRONG, st.text(max_size=5)))
def test_any_wrong_active_or_days_is_refused(client, emu, value):
    # `active` takes True/False/0/1 and `days` an int; everything else is a wrong type.
    assume(not (isinstance(value, int) and not isinstance(value, bool) and value in (0, 1)))
    if not isinstance(value, bool):
        refused(emu, lambda: client.reps(active=value), "active")
    assume(isinstance(value, bool) or not isinstance(value, int))
    refused(emu, lambda: client.report(days=value), "days")


# --- beyond filters: client settings, push and sync arguments ----------------------------------

NOWHERE = "http://127.0.0.1:9/api/v1"
SETTINGS = [
    ("timeout", "30"),
    ("timeout", True),
    ("timeout", [1]),
    ("connect_timeout", b"1"),
    ("backoff", "0.1"),
    ("retries", 1.5),
    ("retries", "3"),
    ("max_concurrency", "4"),
    ("page_size", "1000"),
    ("progress", 3),
    ("compression", 1),
    ("compression", ["gzip"]),
    ("api_key", 12345),
    ("base_url", 5),
    ("tenant", 5),
]


@pytest.mark.parametrize(("name", "value"), SETTINGS, ids=[f"{n}={v!r}" for n, v in SETTINGS])
def test_client_settings_of_the_wrong_type(emu, name, value):
    kwargs: dict[str, Any] = {"api_key": "k", "base_url": NOWHERE, name: value}
    if name == "tenant":
        del kwargs["base_url"]
    err = refused(emu, lambda: converz.Client(**kwargs), name)
    assert "12345" not in str(err)  # a key's value is never shown, only its type


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [({"max_concurrency": 0}, "max_concurrency"), ({"compression": "brotli"}, "compression")],
)
def test_client_settings_out_of_range_stay_value_errors(kwargs, parameter):
    with pytest.raises(converz.InvalidParameterError) as info:
        converz.Client(api_key="k", base_url=NOWHERE, **kwargs)
    assert info.value.parameter == parameter
    assert not isinstance(info.value, TypeError)


PUSH = [
    ({"chunk_rows": "1000"}, "chunk_rows"),
    ({"progress": 3}, "progress"),
    ({"dry_run": "yes"}, "dry_run"),
    ({"strict": 1}, "strict"),
    ({"to": 5}, "to"),
    ({"on_duplicate": 5}, "on_duplicate"),
    ({"clear": 5}, "clear"),
    ({"timezone": 5}, "timezone"),
]


@pytest.mark.parametrize(("kwargs", "parameter"), PUSH, ids=[p for _, p in PUSH])
def test_push_arguments_of_the_wrong_type(client, emu, kwargs, parameter):
    frame = pl.DataFrame({"call_id": [1, 2], "qa_score": [0.5, None]})
    refused(emu, lambda: client.push_updates(frame, **kwargs), parameter)


def test_a_sync_path_of_the_wrong_type(client, emu):
    refused(emu, lambda: client.sync_calls(5, start_date="2025-09-01"), "path")  # type: ignore[arg-type]


def test_right_types_still_pass(client, emu, tmp_path: Path):
    # The checks refuse types, not values the core accepts: integer-likes and PathLike.
    np = pytest.importorskip("numpy")
    assert client.calls(page_size=np.int64(100), parse_dates=False).num_rows == 300
    tuned = emu.client(timeout=np.float64(30), retries=np.int64(2), progress=None)
    assert tuned.reps(active=1).num_rows == client.reps(active=True).num_rows
    result = client.sync_calls(tmp_path, start_date="2025-09-20")
    assert result.rows == client.calls(start_date="2025-09-20").num_rows > 0


def test_numpy_scalars_count_where_an_int_or_a_bool_does(client, emu):
    report = converz.ReportQuery(days=np.int64(30))
    assert report == converz.ReportQuery(days=30) and type(report.days) is int
    assert hash(report) == hash(converz.ReportQuery(days=30))
    assert pickle.loads(pickle.dumps(report)) == report
    assert client.report(days=np.int64(30)).num_rows == client.report(days=30).num_rows
    for flag in (np.bool_(True), np.int64(1)):
        assert converz.RepsQuery(active=flag).active is True
    active = client.reps(active=np.bool_(True))
    assert active.num_rows == client.reps(active=True).num_rows
    assert client.reps(active=np.bool_(False)).num_rows == client.reps(active=False).num_rows
    parsed = client.calls(
        start_date="2025-09-20", parse_dates=np.bool_(False), progress=np.bool_(0)
    )
    assert parsed.to_polars().schema["date"] == pl.String
    refused(emu, lambda: client.reps(active=np.int64(2)), "active")
    refused(emu, lambda: client.report(days=np.float64(30)), "days")


# Arrays of more than one value where one int or number goes: numpy arrays have __index__ and
# __float__ too, which raise for them, so a check asking only whether the method exists let them
# through to a bare TypeError or ValueError later (outside trial 52).
_ARRAY = np.array([1, 2])
_FLOATS = np.array([1.0, 2.0])
_SPAN = converz.CallsQuery(start_date="2025-09-20", end_date="2025-09-30")
SEVERAL_VALUES = [
    (lambda c, e: c.calls(page_size=_ARRAY), "page_size"),
    (lambda c, e: c.iter_calls(page_size=_ARRAY), "page_size"),
    (lambda c, e: c.reps(active=_ARRAY), "active"),
    (lambda c, e: c.report(days=_ARRAY), "days"),
    (lambda c, e: c.scan_calls(batch_size=_ARRAY), "batch_size"),
    (lambda c, e: c.scan_calls(page_size=_ARRAY), "page_size"),
    (lambda c, e: c.push_updates(pl.DataFrame({"call_id": [1]}), chunk_rows=_ARRAY), "chunk_rows"),
    (lambda c, e: e.client(max_concurrency=_ARRAY), "max_concurrency"),
    (lambda c, e: e.client(retries=_ARRAY), "retries"),
    (lambda c, e: e.client(timeout=_FLOATS), "timeout"),
    (lambda c, e: _SPAN.split(parts=_ARRAY), "parts"),
]


@pytest.mark.parametrize(("call", "parameter"), SEVERAL_VALUES)
def test_an_array_of_several_values_is_no_int(client, emu, call, parameter):
    refused(emu, lambda: call(client, emu), parameter)


def test_a_zero_dimensional_array_counts_as_its_value(client):
    assert client.calls(page_size=np.array(100)).num_rows == 300


def test_numpys_bool_is_no_number(emu):
    # Outside trial 53 F3: timeout=np.bool_(True) was a one-second timeout; True is refused.
    refused(emu, lambda: emu.client(timeout=np.bool_(True)), "timeout")
    refused(emu, lambda: emu.client(backoff=np.bool_(False)), "backoff")
    # Outside trial 54 F1: a 0-d array of a bool converts to 1.0 too.
    refused(emu, lambda: emu.client(timeout=np.array(True)), "timeout")
    refused(emu, lambda: emu.client(connect_timeout=np.array(False)), "connect_timeout")


_ONE_ROW = pl.DataFrame({"call_id": [1]})


class _BigIndex:
    """An integer-like whose value is past every count."""

    def __index__(self) -> int:
        return 2**100


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda c: c.calls(page_size=_BigIndex()), "page_size"),
        (lambda c: c.scan_calls(batch_size=_BigIndex()), "batch_size"),
        (lambda c: c.push_updates(_ONE_ROW, chunk_rows=_BigIndex()), "chunk_rows"),
    ],
)
def test_an_integer_like_is_passed_on_as_its_int(client, emu, call, parameter):
    # Outside trial 53 F5: checked by converting, then passed on unconverted, it failed in the
    # core with an error naming a struct field; the plain int 2**100 was refused by name.
    before = emu.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError) as info:
        call(client)
    assert info.value.parameter == parameter
    assert emu.wire_stats()["responses"] == before


SYNC_OPTIONS = [
    ({"overlap_days": "3"}, "overlap_days"),
    ({"overlap_days": 1.5}, "overlap_days"),
    ({"overlap_days": True}, "overlap_days"),
    ({"format": 5}, "format"),
    ({"full_refresh": "no"}, "full_refresh"),
    ({"full_refresh": 1}, "full_refresh"),
    ({"start_date": 20250901}, "start_date"),
    ({"end_date": [2025, 9, 30]}, "end_date"),
    ({"campaign": 5}, "campaign"),
    ({"columns": ["call_id", 3]}, "columns"),
    ({"campain": "sales"}, "campain"),
]


@pytest.mark.parametrize(("kwargs", "parameter"), SYNC_OPTIONS, ids=[p for _, p in SYNC_OPTIONS])
def test_sync_arguments_of_the_wrong_type(client, emu, tmp_path, kwargs, parameter):
    path = tmp_path / "calls"
    refused(
        emu, lambda: client.sync_calls(path, **{"start_date": "2025-09-01", **kwargs}), parameter
    )
    assert not path.exists(), "a refused run created its directory"


def test_sync_options_out_of_range_stay_value_errors(client, emu, tmp_path):
    before = emu.wire_stats()["responses"]
    for kwargs, parameter in (
        ({"overlap_days": -1}, "overlap_days"),
        ({"format": "csv"}, "format"),
    ):
        with pytest.raises(converz.InvalidParameterError) as info:
            client.sync_calls(tmp_path / "calls", **kwargs)
        assert info.value.parameter == parameter and not isinstance(info.value, TypeError)
    assert emu.wire_stats()["responses"] == before and not (tmp_path / "calls").exists()
    result = client.sync_calls(
        tmp_path / "calls", start_date="2025-09-20", overlap_days=np.int64(2)
    )
    assert result.rows == client.calls(start_date="2025-09-20").num_rows > 0


def test_a_client_says_why_it_cannot_be_pickled(emu):
    key = "sk-very-secret-pickle-key"
    client = converz.Client(base_url=emu.url, api_key=key, progress=False)
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        with pytest.raises(TypeError, match=r"converz\.Client cannot be pickled") as info:
            pickle.dumps(client, protocol=protocol)
        assert key not in str(info.value) and "RawClient" not in str(info.value)
        assert "CONVERZ_API_KEY" in str(info.value)


HUGE = [10**20, -(2**70), 2**64]


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda client, v: client.calls(page_size=v), "page_size"),
        (lambda client, v: list(client.iter_calls(page_size=v)), "page_size"),
        (lambda client, v: client.reps(page_size=v), "page_size"),
        (
            lambda client, v: client.push_updates(
                pl.DataFrame({"call_id": [1], "qa_score": [0.5]}), chunk_rows=v
            ),
            "chunk_rows",
        ),
        (lambda client, v: client.scan_calls(batch_size=v), "batch_size"),
    ],
    ids=["calls", "iter_calls", "reps", "push_updates", "scan_calls"],
)
def test_an_int_past_any_range_is_refused_by_name_not_by_overflow(
    client, emu, call, parameter, value
):
    """Outside trial 19: per-call ints past 64 bits escaped as a bare TypeError naming a core
    struct's field (or an OverflowError at collect()); the Client's own setting said its range."""
    before = emu.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError) as info:
        call(client, value)
    assert info.value.parameter == parameter, info.value
    assert "between 1 and" in str(info.value), info.value
    assert emu.wire_stats()["responses"] == before, "a request was sent"
