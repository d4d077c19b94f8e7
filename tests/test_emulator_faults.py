"""The emulator's faults, its WAN profile, its settings' checks, the command and the fixture."""

from __future__ import annotations

import datetime
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from test_emulator import call, rows

import converz
from converz.exceptions import InvalidParameterError
from converz.testing import Emulator, Faults

# --- faults -----------------------------------------------------------------------------------


def test_server_errors_and_html_bodies():
    with Emulator(calls=10, reps=2, error_rate=1.0) as emu:
        status, payload, _ = call(emu, "/reps")
        assert status in (500, 503)
        assert payload["code"] == "server_error"
        emu.set_faults(error_rate=1.0, html_errors=True)
        status, payload, _ = call(emu, "/reps")
        assert status in (500, 503)
        assert isinstance(payload, str)
        assert payload.startswith("<html>")


def test_rate_limits_with_and_without_retry_after():
    with Emulator(calls=10, reps=2, rate_limit_rate=1.0, retry_after=2.5) as emu:
        status, payload, headers = call(emu, "/reps")
        assert (status, payload["code"]) == (429, "rate_limited")
        assert headers.get("retry-after") == "2.5"
        emu.set_faults(rate_limit_rate=1.0, retry_after=None)
        status, _, headers = call(emu, "/reps")
        assert status == 429
        assert "retry-after" not in headers


def test_fault_settings_are_checked_before_the_server_starts():
    with pytest.raises(TypeError, match="error_rat"):
        Emulator(calls=10, reps=2, error_rat=0.5)
    with pytest.raises(InvalidParameterError, match="error_rate"):
        Emulator(calls=10, reps=2, error_rate=1.5)
    with pytest.raises(InvalidParameterError, match="latency"):
        Emulator(calls=10, reps=2, latency=-1.0)
    with Emulator(calls=10, reps=2) as emu:
        with pytest.raises(InvalidParameterError, match="retry_after"):
            emu.set_faults(rate_limit_rate=1.0, retry_after=float("nan"))
        assert call(emu, "/reps")[0] == 200  # the refused settings were not applied


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("latency", 1e30),
        ("latency", float("inf")),
        ("latency", float("nan")),
        ("retry_after", 1e300),
        ("page_cap", -1),
        ("insert_every", 10**40),
        ("calls", -1),
        ("calls", 10**30),
        ("reps", 10**12),
        ("days", 0),
        ("days", 2**40),
        ("seed", -5),
        ("port", 70_000),
    ],
)
def test_out_of_range_settings_are_refused_by_name(name, value):
    with pytest.raises(InvalidParameterError) as info:
        Emulator(**{"calls": 10, "reps": 2, name: value})
    assert info.value.parameter == name


_FAULTS_OUT_OF_RANGE = [
    ("error_rate", 5),
    ("error_rate", -0.1),
    ("rate_limit_rate", 1.01),
    ("drop_rate", float("nan")),
    ("latency", 1e30),
    ("latency", -1.0),
    ("retry_after", float("nan")),
    ("bandwidth", 1.0),
    ("bandwidth", float("inf")),
    ("page_cap", -1),
    ("insert_every", 10**40),
]


@pytest.mark.parametrize(("name", "value"), _FAULTS_OUT_OF_RANGE)
def test_a_fault_out_of_range_is_refused_where_it_is_written(name, value):
    """``Faults(...)`` alone checks ranges by the emulator's own check: a rate of 5 was
    accepted and refused first where the faults were used."""
    with pytest.raises(InvalidParameterError) as info:
        Faults(**{name: value})
    assert info.value.parameter == name
    with pytest.raises(InvalidParameterError):
        Emulator(**{"calls": 10, "reps": 2, name: value})


def test_faults_in_range_are_kept_as_given():
    edge = Faults(error_rate=1, rate_limit_rate=0, drop_rate=1.0, latency=0, bandwidth=1e3)
    assert (edge.error_rate, edge.drop_rate, edge.bandwidth) == (1, 1.0, 1e3)
    assert Faults(page_cap=0).page_cap == 0  # zero means off, as the emulator reads it


def test_command_line_refuses_out_of_range_settings_without_a_traceback():
    done = subprocess.run(
        [sys.executable, "-m", "converz", "emulator", "--port", "0", "--latency", "1e30"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--latency" in done.stderr
    assert "Traceback" not in done.stderr


def test_command_line_today_sets_the_last_day_of_data():
    """`--today` moves the tenant's period (docs/emulator.md); a bad date is a usage error."""
    command = [sys.executable, "-m", "converz", "emulator", "--port", "0", "--calls", "200"]
    bad = subprocess.run(
        [*command, "--today", "2024-02-30"], capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2
    assert "--today" in bad.stderr
    assert "Traceback" not in bad.stderr
    with subprocess.Popen(
        [*command, "--today", "2024-02-29", "--days", "10"], stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            lines: dict[str, str] = {}
            for line in server.stdout:
                if line.startswith("  CONVERZ_"):
                    name, value = line.strip().split("=", 1)
                    lines[name] = value
                if len(lines) == 2:
                    break
            client = converz.Client(
                api_key=lines["CONVERZ_API_KEY"], base_url=lines["CONVERZ_BASE_URL"]
            )
            table = client.calls(start_date="2023-01-01", end_date="2025-12-31").to_arrow()
            seen = {day.as_py() for day in table["date"]}
            assert max(seen) == datetime.date(2024, 2, 29)
            assert min(seen) >= datetime.date(2024, 2, 20)
        finally:
            server.terminate()


def test_error_rate_is_a_fraction_and_reproducible():
    def statuses() -> list[int]:
        with Emulator(calls=10, reps=2, seed=4, error_rate=0.3) as emu:
            return [call(emu, "/reps")[0] for _ in range(200)]

    first = statuses()
    assert 30 < sum(s != 200 for s in first) < 90
    assert statuses() == first


def test_latency():
    with Emulator(calls=10, reps=2, latency=0.2) as emu:
        started = time.perf_counter()
        call(emu, "/reps")
        assert time.perf_counter() - started >= 0.2


def timed_get(emu: Emulator, path: str, gzip_ok: bool = False) -> tuple[float, int]:
    """Seconds to read a whole answer, and the bytes that crossed the wire."""
    headers = {"X-API-Key": emu.api_key, "Accept-Encoding": "gzip" if gzip_ok else "identity"}
    request = urllib.request.Request(f"{emu.url}{path}", headers=headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        wire = len(response.read())
        assert response.headers.get("content-encoding") == ("gzip" if gzip_ok else None)
    return time.perf_counter() - started, wire


def test_bandwidth_paces_every_body_as_sent():
    # Throttling gives a deterministic lower bound: N bytes at B bytes/s take at least N / B.
    with Emulator(calls=4_000, reps=5, bandwidth=4e6) as emu:
        seconds, wire = timed_get(emu, "/calls?n_per_page=2700")
        assert wire > 2_000_000
        assert seconds >= 0.8 * wire / 4e6
        # Gzip: the compressed stream is paced, so it is both smaller and proportionally fast.
        emu.set_faults(bandwidth=1e5)
        seconds, wire = timed_get(emu, "/calls?n_per_page=300", gzip_ok=True)
        assert wire < 300 * 700 / 2
        assert seconds >= 0.8 * wire / 1e5


def test_bandwidth_is_shared_by_all_connections():
    import concurrent.futures

    with Emulator(calls=4_000, reps=5, bandwidth=4e6) as emu:
        alone, wire = timed_get(emu, "/calls?n_per_page=1300")
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            started = time.perf_counter()
            results = list(pool.map(lambda _: timed_get(emu, "/calls?n_per_page=1300"), range(3)))
            together = time.perf_counter() - started
        assert alone >= 0.8 * wire / 4e6
        assert together >= 0.8 * sum(w for _, w in results) / 4e6


def test_wan_profile_from_the_constructor_and_set_faults():
    with Emulator(calls=100, reps=2, latency=0.05, bandwidth=50e6) as emu:
        seconds, _ = timed_get(emu, "/reps")
        assert seconds >= 0.05
        emu.set_faults()
        assert timed_get(emu, "/reps")[1] > 0
    for bad in (0.0, -1.0, float("nan"), float("inf"), 1e13):
        with pytest.raises(InvalidParameterError, match="bandwidth"):
            Emulator(calls=10, reps=2, bandwidth=bad)


def test_dropped_bodies_fail_to_read():
    with Emulator(calls=2_000, reps=5, drop_rate=1.0) as emu:
        request = urllib.request.Request(
            f"{emu.url}/calls?n_per_page=2000", headers={"X-API-Key": emu.api_key}
        )
        failures = (urllib.error.URLError, ConnectionError, OSError, ValueError)
        with pytest.raises(failures), urllib.request.urlopen(request, timeout=30) as response:
            json.loads(response.read())


def test_page_cap_serves_fewer_rows_than_asked():
    with Emulator(calls=1_000, reps=5, page_cap=300) as emu:
        first = call(emu, "/calls", {"n_per_page": 500, "page": 1})[1]
        second = call(emu, "/calls", {"n_per_page": 500, "page": 2})[1]
        assert len(first) == 300
        assert len(second) == 300
        assert first[-1]["call_id"] < second[0]["call_id"]


def test_a_page_cap_or_insert_period_of_zero_is_off_as_the_docstring_says():
    # Outside trial 60 F2: `page_cap=0` read as "no cap" was not said anywhere a user looks.
    with Emulator(calls=1_000, reps=5, page_cap=0, insert_every=0) as emu:
        first = call(emu, "/calls", {"n_per_page": 500, "page": 1})[1]
        again = call(emu, "/calls", {"n_per_page": 500, "page": 1})[1]
        assert len(first) == 500
        assert again == first  # no rows inserted between the two reads
        assert len(rows(emu, "/calls")) == 1_000
    assert "None or 0 is no cap" in Faults.__doc__
    assert "None or 0 is never" in Faults.__doc__


def test_inserted_rows_shift_later_pages():
    with Emulator(calls=1_000, reps=5, insert_every=1) as emu:
        page2_before = call(emu, "/calls", {"n_per_page": 100, "page": 2})[1]
        page2_after = call(emu, "/calls", {"n_per_page": 100, "page": 2})[1]
        assert page2_after[0]["call_id"] < page2_before[0]["call_id"] or page2_after != page2_before
        assert len(rows(emu, "/calls")) > 1_000


# --- the command and the fixture ----------------------------------------------------------


def test_command_line_serves_with_its_fault_flags_until_stopped():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "converz",
            "emulator",
            "--port",
            "0",
            "--calls",
            "100",
            "--reps",
            "3",
            "--page-cap",
            "2",
            "--latency",
            "0.05",
            "--bandwidth",
            "50e6",
        ],
        stdout=subprocess.PIPE,
        text=True,
        # As a shell without job control starts a background command: Ctrl-C must still stop it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        url = next(line.split("=", 1)[1].strip() for line in lines if "BASE_URL" in line)
        key = next(line.split("=", 1)[1].strip() for line in lines if "API_KEY" in line)
        request = urllib.request.Request(f"{url}/reps", headers={"X-API-Key": key})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as response:
            assert len(json.loads(response.read())) == 2  # --page-cap reached the server
        assert time.perf_counter() - started >= 0.05  # and so did --latency
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        process.stdout.close()


def test_pytest_fixture_is_registered(converz_emulator):
    assert len(converz_emulator.client(progress=False).reps()) == 50
