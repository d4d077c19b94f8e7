"""bench/readme.py: README tables regenerated from results json, prose kept, targets checked.

Synthetic results and a synthetic README in tmp_path; no emulator, no network.
"""

# The generated tables use typographic signs (multiplication sign, en dash).
# ruff: noqa: RUF001

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "readme.py"


@pytest.fixture(scope="module")
def readme() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("bench_readme", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


PROSE_TOP = "# Project\n\nHand-written intro, kept as is.\n\n"
PROSE_MIDDLE = "\nWhat bounds it now: a hand-written paragraph.\n\n"
PROSE_END = "\nThe end, also by hand.\n"


def synthetic_readme(names: tuple[str, ...] = ("read", "write", "latency", "wan", "scale")) -> str:
    blocks = [
        f"<!-- bench:{name} -->\nOLD {name} TABLE\n<!-- /bench:{name} -->\n" for name in names
    ]
    return PROSE_TOP + PROSE_MIDDLE.join(blocks) + PROSE_END


def row(method: str, median: float, **extra: Any) -> dict[str, Any]:
    return {
        "method": method,
        "rows": 1_000_000,
        "median_s": median,
        "min_s": median * 0.9,
        "max_s": median * 1.1,
        "json_mb_per_s": 767 / median,
        "peak_rss_mb": 500.0,
        "data_mb": 400.0,
        "rss_x_data": 1.0,
        "x_converz": 1.0,
        **extra,
    }


def latest(fast: bool) -> dict[str, Any]:
    """A run that meets every issue-13 target (fast) or misses every one."""
    read = [
        row("read_converz_polars", 1.0, rss_x_data=1.25 if fast else 1.3),
        row("read_converz_pandas", 1.1, rss_x_data=1.1 if fast else 1.4),
        # Exactly 20x and 12x meet the targets; just below misses them.
        row("read_requests_pandas", 20.0 if fast else 19.9),
        row("read_httpx_polars", 12.0 if fast else 11.9),
        row("read_transfer_ceiling", 0.5),
        row("read_decode_ceiling", 1.1 if fast else 0.9),
        row("iter_converz", 0.9, peak_rss_mb=150.0 if fast else 151.0, rss_x_data=None),
    ]
    # The slow run meets 10x at the median but not in its second round.
    write = [
        row("write_converz", 0.3, seconds=[0.3, 0.4, 0.3], rss_x_data=1.5 if fast else 1.6),
        row("write_requests", 4.0, seconds=[3.5, 4.0 if fast else 3.6, 4.5], rss_x_data=0.5),
    ]
    latency = [row("latency_report", 0.19), row("latency_one_rep", 0.005)]
    return {
        "date": "2026-12-01T07:00:00+00:00",
        "machine": "x86_64, 2 cores, Linux",
        "python": "3.11.7",
        "rounds": 3,
        "rows": 1_000_000,
        "load_average": [0.5, 2.3],
        "read": read,
        "write": write,
        "latency": latency,
    }


def wan(fast: bool, date: str = "2026-12-01") -> dict[str, Any]:
    def wan_row(method: str, median: float, use: float) -> dict[str, Any]:
        return {
            "method": method,
            "rows": 200_000,
            "median_s": median,
            "min_s": median,
            "max_s": median,
            "wire_mb": 17.4,
            "link_utilisation": use,
            "x_converz": 1.0,
        }

    table = [
        wan_row("read_wan_converz", 0.4, 0.9 if fast else 0.89),
        wan_row("read_wan_httpx_polars", 1.2 if fast else 0.3, 0.3),
    ]
    meta = {"date": date, "machine": "x86_64, 2 cores, Linux", "rounds": 3}
    return {**meta, "rows": 200_000, "rtt_s": 0.04, "bandwidth_bytes_per_s": 50e6, "table": table}


SCALE = {
    "date": "2026-11-30",
    "machine": "x86_64, 2 cores, Linux",
    "rounds": 2,
    "rows": 1_000_000,
    "partition": "day",
    "cluster_startup_s": 4.2,
    "scale": [
        {"method": "single", "median_s": 18.8, "min_s": 18.5, "max_s": 19.1, "x_single": 1.0},
        {"method": "dask_count", "median_s": 32.2, "min_s": 30.7, "max_s": 33.8, "x_single": 1.71},
    ],
}


def write_results(folder: Path, fast: bool = True) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "latest.json").write_text(json.dumps(latest(fast)))
    (folder / "wan.json").write_text(json.dumps({"wan": wan(fast)}))
    (folder / "scale.json").write_text(json.dumps(SCALE))
    return folder


def between(text: str, name: str) -> str:
    start = text.index(f"<!-- bench:{name} -->")
    return text[start : text.index(f"<!-- /bench:{name} -->", start)]


def test_tables_replaced_prose_kept_and_idempotent(readme: ModuleType, tmp_path: Path) -> None:
    results = write_results(tmp_path / "results")
    path = tmp_path / "README.md"
    path.write_text(synthetic_readme())
    argv = ["--results", str(results), "--readme", str(path)]

    assert readme.main(argv) == 0
    text = path.read_text()
    assert "OLD" not in text
    assert text.startswith(PROSE_TOP) and text.endswith(PROSE_END)
    assert text.count(PROSE_MIDDLE.strip()) == 4
    read = between(text, "read")
    assert "| converz → polars | 1.00 | 0.90–1.10 | 767 | 500 | 1.25 | 1.00 |" in read
    assert "| requests + json + pandas, page by page | 20.00 |" in read
    words = " ".join(read.split())  # the line above the table is wrapped at 100 columns
    assert "measured 2026-12-01 on x86_64, 2 cores, Linux, Python 3.11.7" in words
    assert "load average 0.5 at the start, 2.3 at the end); 3 rounds, medians" in words
    assert "| transfer only (httpx, bodies read and dropped) | 0.50 |" in read
    assert "| converz `push_updates` (polars frame, 400 MB) | 0.30 |" in between(text, "write")
    assert "| 0.190 | 0.171–0.209 |" in between(text, "latency")
    assert "| converz → polars (gzip) | 0.40 | 0.40–0.40 | 17.4 | 90% | 1.00 |" in between(
        text, "wan"
    )
    scale = between(text, "scale")
    assert "`bench/results/scale.json`" in scale and "2 rounds" in " ".join(scale.split())
    assert "| Dask, rows counted on the workers (stay where fetched) | 32.20 |" in scale

    assert readme.main(argv) == 0
    assert path.read_text() == text
    assert readme.main([*argv, "--check"]) == 0


def verdicts(readme: ModuleType, fast: bool) -> dict[str, tuple[str, bool]]:
    run = latest(fast)
    targets = [
        *readme.read_targets(readme.by_method(run["read"])),
        *readme.write_targets(readme.by_method(run["write"])),
        *readme.wan_targets(readme.by_method(wan(fast)["table"])),
    ]
    return {target.goal: (target.measured, target.met) for target in targets}


def test_targets_met(readme: ModuleType) -> None:
    got = verdicts(readme, fast=True)
    assert len(got) == 10
    assert all(met for _, met in got.values()), got
    assert got["converz → polars ≥ 20× faster than requests + json + pandas"][0] == "20.00×"
    assert got["push 1M × 6 ≥ 10× faster than requests in every round"][0].startswith("10.00×")
    assert got["converz → polars uses ≥ 90% of the link"][0] == "90%"


def test_targets_missed(readme: ModuleType) -> None:
    got = verdicts(readme, fast=False)
    assert len(got) == 10
    assert not any(met for _, met in got.values()), got
    assert got["peak RSS into pandas ≤ 1.25× the frame"][0] == "1.40×"
    # The median is 13.3x; the second round's 3.6 s against 0.4 s is 9x: missed.
    measured = got["push 1M × 6 ≥ 10× faster than requests in every round"][0]
    assert measured == "9.00× in the slowest round (median 13.33×)"
    ahead = got["converz ahead of httpx + orjson + polars at the same concurrency"][0]
    assert ahead == "httpx + orjson + polars took 0.75× converz's time"


def test_verdicts_written_under_tables(readme: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(synthetic_readme(("read", "write")))
    argv = ["--results", str(write_results(tmp_path / "results", fast=False)), "--readme"]
    assert readme.main([*argv, str(path)]) == 0
    read = between(path.read_text(), "read")
    assert read.count("**missed**") == 6 and "**met**" not in read
    assert "- `iter_calls()` peak ≤ 150 MB: 151 MB, **missed**" in read


def test_missing_results_leave_tables_alone(
    readme: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    run = latest(True)
    del run["write"]
    (results / "latest.json").write_text(json.dumps(run))  # no wan.json, no scale.json
    path = tmp_path / "README.md"
    path.write_text(synthetic_readme() + "<!-- bench:read -->\nunclosed\n")

    assert readme.main(["--results", str(results), "--readme", str(path)]) == 0
    text = path.read_text()
    assert "OLD read TABLE" not in text and "OLD latency TABLE" not in text
    for name in ("write", "wan", "scale"):
        assert f"OLD {name} TABLE" in between(text, name)
    assert text.endswith("<!-- bench:read -->\nunclosed\n")
    errors = capsys.readouterr().err
    assert "bench:write: left alone" in errors and "has no 'write'" in errors
    assert "bench:wan: left alone" in errors and "wan.json does not exist" in errors
    assert "bench:scale: left alone" in errors and "scale.json does not exist" in errors
    assert "bench:read: an opening marker without its end" in errors


def test_check_reports_stale_tables(readme: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(synthetic_readme())
    argv = ["--results", str(write_results(tmp_path / "results")), "--readme", str(path), "--check"]
    assert readme.main(argv) == 1
    assert path.read_text() == synthetic_readme()


def test_newer_wan_run_wins(readme: ModuleType, tmp_path: Path) -> None:
    results = write_results(tmp_path / "results")
    run = latest(True)
    run["wan"] = wan(False, date="2026-12-02T01:00:00+00:00")  # a full run after wan.json's
    (results / "latest.json").write_text(json.dumps(run))
    source, _ = readme.find_source(results, "wan")
    assert source.file == "latest.json"
    assert source.meta["date"].startswith("2026-12-02")
    assert source.rows[0]["link_utilisation"] == 0.89
    (results / "wan.json").write_text(json.dumps({"wan": wan(True, date="2026-12-03")}))
    source, _ = readme.find_source(results, "wan")
    assert source.file == "wan.json" and source.rows[0]["link_utilisation"] == 0.9
