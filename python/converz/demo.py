"""`make demo`: the main job end to end against a local emulator.

Starts the bundled emulator, fetches users, a quarter of conversations and a weekly report,
analyses them in polars, pushes a score back and reads it again.
"""

from __future__ import annotations

import time

import converz
from converz.testing import Emulator


def main(calls: int = 300_000) -> None:
    """Run the demo (needs polars; ``pip install 'converz[polars]'``)."""
    import polars as pl

    print(f"converz {converz.__version__} ({converz.build_profile} build)")
    with Emulator(calls=calls, reps=500, seed=42) as emu:
        print(f"emulator at {emu.url} with {calls:,} calls")
        client = emu.client()

        started = time.perf_counter()
        reps = client.reps(active=True)
        print(f"\nreps(active=True): {reps}")

        started = time.perf_counter()
        quarter = client.calls(start_date="2025-07-01", end_date="2025-09-30")
        seconds = time.perf_counter() - started
        print(f"\ncalls(Q3 2025): {quarter.num_rows:,} rows in {seconds:.2f} s")
        df = quarter.to_polars()
        busiest = (
            df.group_by("rep_id")
            .agg(pl.len().alias("calls"), pl.col("duration").mean().alias("avg_duration"))
            .sort("calls", descending=True)
            .head(5)
        )
        print(busiest)

        weekly = client.report(groupby=["week", "campaign"], metric=["n_calls"], days=90)
        print(f"\nreport(groupby=week,campaign): {weekly.num_rows} rows")
        print(weekly.to_polars().head(5))

        scores = df.select(
            "call_id",
            qa_score=(pl.col("duration") / pl.col("duration").max()).round(3),
        )
        result = client.push_updates(scores)
        print(f"\npush_updates: {result}")

        again = client.calls(
            start_date="2025-07-01", end_date="2025-09-30", columns=["call_id", "qa_score"]
        )
        check = again.to_polars().select("call_id", "qa_score").head(3)
        print(f"\nread back:\n{check}")


if __name__ == "__main__":
    main()
