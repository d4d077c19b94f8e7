"""Query values: checked when built, immutable, comparable, picklable, splittable; every read
accepts one, and a split's partitions are disjoint with the whole query's rows as their union."""

from __future__ import annotations

import datetime as dt
import pickle

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import converz
from converz import CallsQuery, ReportQuery, RepsQuery


def test_values_are_normalised_and_compare_by_value():
    a = CallsQuery(start_date="2025-07-01", after="2025-07-01 08:30", campaign="sales")
    b = CallsQuery(
        start_date=dt.date(2025, 7, 1), after=dt.datetime(2025, 7, 1, 8, 30), campaign=["sales"]
    )
    assert a == b and hash(a) == hash(b)
    assert a.start_date == dt.date(2025, 7, 1)
    assert a.after == dt.datetime(2025, 7, 1, 8, 30)
    assert a.campaign == ("sales",)
    assert a != a.replace(campaign="support")
    # Vendor call ids are text (the API's vendor_call_id column is a string): 12 is refused
    # rather than sent as "12" (tests/test_param_types.py covers every list filter).
    assert CallsQuery(vendor_call_id=["12", "x"]).vendor_call_id == ("12", "x")
    with pytest.raises(converz.InvalidParameterTypeError, match="item 0"):
        CallsQuery(vendor_call_id=[12, "x"])
    assert RepsQuery(active=1).active is True


def test_repeated_or_reordered_filter_values_make_one_query():
    # Found by the outside trial: reps=["a", "a"] and ["a"] were two queries (unequal, two
    # hashes, two sync fingerprints, so a sync refused its own dataset).
    one = RepsQuery(rep_id=["a"], department=["sales", "support"])
    for same in (
        RepsQuery(rep_id=["a", "a"], department=["sales", "support"]),
        RepsQuery(rep_id="a", department=["support", "sales", "support"]),
    ):
        assert same == one and hash(same) == hash(one) and repr(same) == repr(one)
    assert one.department == ("sales", "support")
    assert CallsQuery(campaign=["b", "a", "b"]).campaign == ("a", "b")
    assert RepsQuery(rep_id=["a", "b"]) != one
    # The order of columns, metrics and groupings is what the answer follows: kept, once each.
    calls = CallsQuery(columns=["duration", "call_id", "duration"], metric=["m2", "m1", "m2"])
    assert calls.columns == ("duration", "call_id") and calls.metric == ("m2", "m1")
    report = ReportQuery(groupby=["week", "campaign", "week"])
    assert report.groupby == ("week", "campaign")
    reordered = CallsQuery(columns=["duration", "call_id"])
    assert CallsQuery(columns=["call_id", "duration"]) != reordered


@pytest.mark.parametrize(
    "query",
    [
        CallsQuery(),
        CallsQuery(start_date="2025-07-01", end_date="2025-07-31", columns=["call_id"]),
        RepsQuery(department=["support", "sales"], active=False),
        ReportQuery(days=30, groupby=["week", "campaign"], metric=["n_calls"]),
    ],
)
def test_pickle_repr_and_immutability(query):
    assert pickle.loads(pickle.dumps(query)) == query
    assert repr(query).startswith(f"converz.{type(query).__name__}(")
    assert eval(repr(query), {"converz": converz, "datetime": dt}) == query
    with pytest.raises(AttributeError, match="immutable"):
        query.rep_id = ("x",)


@pytest.mark.parametrize(
    ("make", "error", "names"),
    [
        (lambda: CallsQuery(start_date=20250101), TypeError, "start_date"),
        (lambda: CallsQuery(after=3.5), TypeError, "after"),
        (lambda: CallsQuery(campaign=[1.5]), TypeError, "campaign"),
        (lambda: CallsQuery(rep_id={"a": 1}), TypeError, "rep_id"),
        (lambda: CallsQuery(campaign=["sales, north"]), converz.InvalidParameterError, "campaign"),
        (lambda: CallsQuery(start_date="2025-13-01"), converz.InvalidParameterError, "start_date"),
        (
            lambda: CallsQuery(start_date="2025-07-02", end_date="2025-07-01"),
            converz.InvalidParameterError,
            "start_date",
        ),
        (lambda: CallsQuery(columns=[""]), converz.InvalidParameterError, "columns"),
        # An empty list is no filter on the wire: it would widen the fetch to every row.
        (lambda: CallsQuery(rep_id=[]), converz.InvalidParameterError, "rep_id"),
        (lambda: CallsQuery(campaign=()), converz.InvalidParameterError, "campaign"),
        (lambda: RepsQuery(rep_id=iter([])), converz.InvalidParameterError, "rep_id"),
        (lambda: CallsQuery(bogus=1), TypeError, "bogus"),
        (lambda: ReportQuery(days=-3), converz.InvalidParameterError, "days"),
        (lambda: ReportQuery(days="7"), TypeError, "days"),
        (lambda: ReportQuery(groupby="weekday"), converz.InvalidParameterError, "groupby"),
        (
            lambda: ReportQuery(days=3, start_date="2025-07-01"),
            converz.InvalidParameterError,
            "days",
        ),
        (lambda: RepsQuery(active=2), TypeError, "active"),
        # Values Python's datetime cannot hold, and leap seconds, are refused, not ValueError.
        (lambda: CallsQuery(start_date="0000-01-01"), converz.InvalidParameterError, "start_date"),
        (lambda: CallsQuery(after="2025-06-30 23:59:60"), converz.InvalidParameterError, "after"),
        (lambda: CallsQuery(before="0000-01-01 00:00"), converz.InvalidParameterError, "before"),
        (lambda: ReportQuery(days=10**30), converz.InvalidParameterError, "days"),
    ],
)
def test_bad_values_fail_when_built_naming_the_parameter(make, error, names):
    with pytest.raises(error, match=names) as info:
        make()
    if isinstance(info.value, converz.InvalidParameterError):
        assert info.value.parameter == names


@pytest.mark.parametrize("name", ["start_date", "end_date"])
@pytest.mark.parametrize("text", ["10000-01-01", "2025-07-01x", "2025-13-01", "0000-01-01"])
def test_a_date_parameter_past_its_range_is_said_not_to_be_a_date(name, text):
    # Outside trial 18: "10000-01-01" (longer than a date) was "not a naive date-time; use a
    # datetime.datetime", advice for another parameter; "2025-13-01" was already a date's.
    for make in (CallsQuery, ReportQuery):
        with pytest.raises(converz.InvalidParameterError) as info:
            make(**{name: text})
        assert info.value.parameter == name
        assert f"{text!r}".replace("'", '"') + " is not a date;" in str(info.value), info.value
        assert "date-time" not in str(info.value) and "datetime.datetime" not in str(info.value)


@pytest.mark.parametrize("blank", [" ", "\t", "  \n", "\u200b", "\ufeff", "\x1f"])
def test_a_blank_filter_value_is_said_to_be_blank(blank):
    # Outside trial 18: rep_id=" " was refused as "contains an empty value"; trial 77 F3: a
    # zero-width space alone was sent, and matched nothing.
    for make in (CallsQuery, RepsQuery):
        with pytest.raises(converz.InvalidParameterError) as info:
            make(rep_id=[blank])
        assert info.value.parameter == "rep_id"
        assert "contains a blank value" in str(info.value) and "only white space" in str(
            info.value
        ), info.value
        # Spelt as Python spells it, to paste back (trial 78 F2: Rust's "\u{200b}").
        assert f'"{repr(blank)[1:-1]}"' in str(info.value), info.value
    with pytest.raises(converz.InvalidParameterError, match="contains an empty value"):
        CallsQuery(rep_id=[""])


def test_an_empty_projection_is_refused_in_its_own_words():
    # columns=[] is no filter that matches nothing (outside trial: it was worded as one).
    for make, name in [
        (lambda: CallsQuery(columns=[]), "columns"),
        (lambda: ReportQuery(groupby=[]), "groupby"),
    ]:
        with pytest.raises(converz.InvalidParameterError) as info:
            make()
        assert info.value.parameter == name
        assert f"{name}=[] names no {name}" in str(info.value), str(info.value)
        assert "match nothing" not in str(info.value) and f"{name}=None" in info.value.hint
    with pytest.raises(converz.InvalidParameterError, match=r"campaign=\[\] would match nothing"):
        CallsQuery(campaign=[])


def test_reads_take_a_query_or_keywords_not_both(client):
    q = CallsQuery(start_date="2025-09-01", end_date="2025-09-07", columns=["call_id"])
    by_value = client.calls(q).to_polars()
    by_keywords = client.calls(**q.to_kwargs()).to_polars()
    assert by_value.equals(by_keywords) and by_value.height > 0
    streamed = pl.concat([p.to_polars() for p in client.iter_calls(q)])
    assert streamed.equals(by_value)
    with pytest.raises(TypeError, match="not both"):
        client.calls(q, campaign="sales")
    with pytest.raises(TypeError, match="CallsQuery"):
        client.calls(RepsQuery())
    with pytest.raises(TypeError, match="page_size"):
        client.calls(q, page_size="10")
    report = client.report(ReportQuery(days=30, groupby="campaign"))
    assert report.num_rows > 0


def test_a_comma_in_a_filter_is_refused_before_any_request(client):
    # The API splits array values on commas: "sales, north" would fetch sales and " north".
    with pytest.raises(converz.InvalidParameterError, match="comma") as info:
        client.calls(campaign=["sales, north"])
    assert info.value.parameter == "campaign"


@pytest.mark.parametrize("value", ["  lead", "sales ", " x ", "a\t"])
def test_a_filter_value_with_spaces_at_an_end_is_refused_before_any_request(client, value):
    """Outside trial 21: the API trims list values, so `subcampaign="  lead"` matched `lead`
    and returned none of the rows holding "  lead", without a word."""
    for name in ("subcampaign", "campaign", "rep_id", "vendor_call_id"):
        with pytest.raises(converz.InvalidParameterError, match="white space") as info:
            client.calls(**{name: ["ok", value]})
        assert info.value.parameter == name
    with pytest.raises(converz.InvalidParameterError, match="white space") as info:
        client.calls(columns=["call_id", value])
    assert "scan" not in str(info.value)  # no scan selects such a column (outside trial 21c)


@pytest.mark.parametrize("value", ["  x", "x  "])
def test_the_cli_refuses_a_filter_value_with_spaces_at_an_end(value, capsys, monkeypatch):
    """Outside trial 21c: the CLI stripped `--campaign "  x"` and fetched campaign x's rows."""
    from converz.__main__ import main

    monkeypatch.setenv("CONVERZ_BASE_URL", "http://127.0.0.1:9/api/v1")
    monkeypatch.setenv("CONVERZ_API_KEY", "k")
    assert main(["fetch", "calls", "--campaign", value, "-o", "-", "-q"]) == 1
    assert "white space" in capsys.readouterr().err


def test_wrong_types_name_the_parameter(client):
    with pytest.raises(TypeError, match="start_date"):
        client.calls(start_date=20250101)
    with pytest.raises(converz.InvalidParameterError, match="days"):
        client.report(days=-3)


def test_split_by_period_is_disjoint_and_covers_the_range():
    q = CallsQuery(start_date="2025-06-28", end_date="2025-08-03", campaign="sales")
    for by, count in (("day", 37), ("week", 6), ("month", 3)):
        parts = q.split(by=by)
        assert len(parts) == count
        assert parts[0].start_date == q.start_date and parts[-1].end_date == q.end_date
        for a, b in zip(parts, parts[1:]):
            assert b.start_date == a.end_date + dt.timedelta(days=1)
        assert all(p.campaign == q.campaign for p in parts)
    weeks = q.split(by="week")
    assert all(p.start_date.weekday() == 0 for p in weeks[1:])
    with pytest.raises(converz.InvalidParameterError):
        CallsQuery(start_date="2025-07-01").split(by="day")
    with pytest.raises(converz.InvalidParameterError):
        q.split(by="day", parts=2)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    start=st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2025, 9, 1)),
    length=st.integers(0, 90 * 86_400),
    parts=st.integers(1, 50),
)
def test_split_into_parts_tiles_the_seconds(start, length, parts):
    start = start.replace(microsecond=0)
    q = CallsQuery(after=start, before=start + dt.timedelta(seconds=length))
    if parts > length + 1:
        with pytest.raises(converz.InvalidParameterError):
            q.split(parts=parts)
        return
    pieces = q.split(parts=parts)
    assert len(pieces) == parts
    assert pieces[0].after == q.after and pieces[-1].before == q.before
    for a, b in zip(pieces, pieces[1:]):
        assert b.after == a.before + dt.timedelta(seconds=1)
        assert a.after <= a.before


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    start=st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2025, 9, 1)),
    length=st.integers(0, 5 * 86_400_000_000),
    parts=st.integers(1, 50),
)
def test_split_counts_the_whole_seconds_the_api_is_asked_for(start, length, parts):
    # The API's bounds are inclusive seconds: a fractional after= rounds up, before= down.
    q = CallsQuery(after=start, before=start + dt.timedelta(microseconds=length))
    first = q.after.replace(microsecond=0) + dt.timedelta(seconds=q.after.microsecond > 0)
    last = q.before.replace(microsecond=0)
    seconds = int((last - first).total_seconds()) + 1
    if parts > seconds:
        with pytest.raises(converz.InvalidParameterError) as err:
            q.split(parts=parts)
        if seconds >= 1:
            assert f"the {seconds} whole seconds" in str(err.value)
        return
    pieces = q.split(parts=parts)
    assert len(pieces) == parts
    assert pieces[0].after == first and pieces[-1].before == last
    for a, b in zip(pieces, pieces[1:]):
        assert b.after == a.before + dt.timedelta(seconds=1)


def test_split_counts_the_seconds_after_rounding_the_trials_range():
    q = CallsQuery(after="2025-07-01 10:15:07.5", before="2025-07-01 10:15:09")
    with pytest.raises(converz.InvalidParameterError, match="the 2 whole seconds"):
        q.split(parts=7)
    assert [(p.after.second, p.before.second) for p in q.split(parts=2)] == [(8, 8), (9, 9)]
    # Dates and times together: the later lower bound and the earlier upper bound hold.
    both = CallsQuery(start_date="2025-07-02", after="2025-07-01 10:00", end_date="2025-07-02")
    halves = both.split(parts=2)
    assert halves[0].after == dt.datetime(2025, 7, 2) and halves[1].after.hour == 12


def test_split_of_a_fractional_after_keeps_its_seconds_rows_out(client):
    # A row at T is outside after=T+0.5s; the first part must not start at T again.
    times = client.calls(columns=["call_id", "start_time"]).to_polars()["start_time"]
    at = times[100]
    q = CallsQuery(
        after=at + dt.timedelta(milliseconds=500),
        before=at + dt.timedelta(hours=6),
        columns=["call_id", "start_time"],
    )
    whole = client.calls(q).to_polars()
    for parts in (1, 2, 3):
        union = pl.concat([client.calls(p).to_polars() for p in q.split(parts=parts)])
        assert union["call_id"].is_unique().all()
        assert union.sort("call_id").equals(whole.sort("call_id")), parts
    assert at not in whole["start_time"].to_list()


@pytest.mark.parametrize("split", [{"by": "day"}, {"by": "week"}, {"by": "month"}, {"parts": 7}])
def test_partitions_fetch_exactly_the_whole_query(client, split):
    q = CallsQuery(start_date="2025-07-20", end_date="2025-09-10", columns=["call_id", "date"])
    whole = client.calls(q).to_polars()
    pieces = [client.calls(part).to_polars() for part in q.split(**split)]
    union = pl.concat(pieces)
    assert union["call_id"].is_unique().all(), "partitions overlap"
    assert union.sort("call_id").equals(whole.sort("call_id"))
    assert whole.height > 1_000


def test_reps_split_by_parts():
    q = RepsQuery(rep_id=[f"r{i}" for i in range(10)], active=True)
    parts = q.split(parts=3)
    assert sum((p.rep_id for p in parts), ()) == q.rep_id
    assert all(p.active is True for p in parts)


def test_a_fractional_after_bound_keeps_rows_before_it_out(client):
    times = client.calls(columns=["call_id", "start_time"]).to_polars()["start_time"]
    bound = times[100] + dt.timedelta(milliseconds=500)
    got = client.calls(after=bound, columns=["call_id", "start_time"]).to_polars()
    assert got.height > 0
    assert got["start_time"].min() >= bound
    want = times.filter(times >= bound)
    assert got.height == want.len()


def test_the_apis_comma_form_of_groupby_is_refused_with_the_list_form():
    with pytest.raises(converz.InvalidParameterError, match=r"as a list, e\.g\. groupby=\["):
        ReportQuery(groupby="date,campaign")
    assert ReportQuery(groupby=["date", "campaign"]).groupby == ("date", "campaign")


def _frame() -> object:
    import pyarrow as pa

    return pa.table({"call_id": pa.array([1], pa.int64())})


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda c: CallsQuery(campaign="\ud800"), "campaign"),
        (lambda c: c.calls(rep_id=["ok", "a\udcff"]), "rep_id"),
        (lambda c: c.calls(columns=["call_id", "\udcff"]), "columns"),
        (lambda c: ReportQuery(metric="\ud800"), "metric"),
        (lambda c: CallsQuery(start_date="2025-01-0\ud800"), "start_date"),
        (lambda c: CallsQuery(after="\ud800"), "after"),
        (lambda c: c.calls(schema={"\ud800": "str"}), "schema"),
        (lambda c: c.scan_calls(campaign="\ud800"), "campaign"),
        (lambda c: converz.Client(api_key="k\ud800", base_url=c.base_url), "api_key"),
        (lambda c: converz.Client(api_key="k" * 32, base_url=c.base_url + "\ud800"), "base_url"),
        # Trial 32 F1: the push's options, and paths.
        (lambda c: c.push_updates({"call_id": [1]}, clear=["x\ud800"]), "clear"),
        (lambda c: c.push_updates(_frame(), timezone="Europe/Amsterdam\ud800"), "timezone"),
        (lambda c: c.push_updates(_frame(), to="calls\ud800"), "to"),
        (lambda c: c.push_updates(_frame(), on_duplicate="last\ud800"), "on_duplicate"),
        (lambda c: c.push_file("/tmp/x\ud800.csv", dry_run=True), "path"),
        (lambda c: c.sync_calls("/tmp/converz-sync-\ud800"), "path"),
    ],
)
def test_a_lone_surrogate_is_an_invalid_parameter_naming_it_before_any_request(make, name):
    """A str may hold half of a UTF-16 pair, which no request can carry: a filter holding one
    was a bare TypeError saying "got tuple", a key one "must be a str, got str" (outside trial
    31 F1)."""
    with converz.testing.Emulator(calls=5) as emu:
        client = emu.client(progress=False)
        before = emu.wire_stats()["responses"]
        with pytest.raises(converz.InvalidParameterError, match="lone surrogate") as info:
            make(client)
        assert info.value.parameter == name
        assert "k\ud800" not in str(info.value)
        assert emu.wire_stats()["responses"] == before


@pytest.mark.parametrize("spell", ["timestamp", "text"])
def test_a_bound_finer_than_a_microsecond_keeps_its_side_of_the_second(client, spell):
    # Python's datetime holds microseconds: a pandas Timestamp one nanosecond after a row's
    # start was cut to the row's own second, and `after=` returned the row before the bound
    # (outside trial 50 F3). `after` rounds up, `before` down, as a fraction of a second does.
    pd = pytest.importorskip("pandas")
    rows = client.calls(columns=["call_id", "start_time"]).to_polars().sort("start_time")
    start = rows["start_time"][len(rows) // 2]
    earlier = rows.filter(pl.col("start_time") < start)["call_id"].to_list()
    at = rows.filter(pl.col("start_time") == start)["call_id"].to_list()

    def bound(nanoseconds: int) -> object:
        moment = pd.Timestamp(start) + pd.Timedelta(nanoseconds, "ns")
        return moment if spell == "timestamp" else moment.isoformat()

    after = CallsQuery(after=bound(1))
    assert after.after == start + dt.timedelta(microseconds=1)
    got = set(client.calls(after.replace(columns=["call_id"])).to_polars()["call_id"].to_list())
    assert got and not got & set(at + earlier)
    before = CallsQuery(before=bound(-1))
    assert before.before == start - dt.timedelta(microseconds=1)
    got = set(client.calls(before.replace(columns=["call_id"])).to_polars()["call_id"].to_list())
    assert got == set(earlier)
    # A whole number of microseconds is kept as it is.
    assert CallsQuery(after=bound(2_000)).after == start + dt.timedelta(microseconds=2)


def test_list_values_are_trimmed_as_the_api_trims_them():
    """Python's str.strip() also strips \\x1c-\\x1f, which the API keeps: `--columns "\\x1fq"`
    asked for column `q` (outside trial 79 F1)."""
    from converz._query import split_commas

    assert split_commas(["a, \x1fq,b"]) == ["a", "\x1fq", "b"]
    assert split_commas([" \t"]) == [""]  # blank pieces still become empty, refused as such
