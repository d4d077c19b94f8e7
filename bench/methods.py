"""One benchmark method, run in a fresh process by bench/run.py; prints one JSON line.

Every read method fetches the same pages (same page size) from the same emulator; the savvy
baseline and the transfer ceiling use the same concurrency as converz.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import resource
import sys
import time
from typing import Any, Callable

PAGE_SIZE = 20_000


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _start_clock(args: argparse.Namespace) -> None:
    """Starts the timed section: what was built before it (input frames, fetched bodies)
    counts neither in the time nor in the peak RSS above the baseline."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets the peak-RSS high-water mark (Linux)
    except OSError:
        pass
    args.baseline_mb = _status_mb("VmRSS")
    args.started = time.perf_counter()


def _frame_bytes(result: Any) -> tuple[int, int | None]:
    """The bytes of the buffers a result holds, and for a polars frame its `estimated_size()`.

    A polars frame is sized by its Arrow export at the newest compat level, which is zero copy:
    the 16-byte views polars stores for every string value and their data buffers, as the frame
    holds them. `estimated_size()` counts a string column's string bytes but not its views (on
    the 1M calls, nine string columns: 469 MiB estimated against 556 MiB of buffers, and the
    frame alone keeps 560-568 MiB resident), so against it a fetch's peak looked 20% above the
    frame before the fetch held anything of its own. Called after the peak is read: the export's
    few MiB of metadata must not count in it.
    """
    if isinstance(result, int):
        return result, None
    import polars as pl

    if isinstance(result, pl.DataFrame):
        exported = result.to_arrow(compat_level=pl.CompatLevel.newest())
        return int(exported.get_total_buffer_size()), int(result.estimated_size())
    raise TypeError(f"no size for {type(result).__name__}")


def _pages(args: argparse.Namespace) -> int:
    return -(-args.rows // args.page_size) + 1  # every method also reads the empty last page


def read_converz_polars(args: argparse.Namespace) -> tuple[int, Any]:
    import converz

    client = converz.Client(
        api_key=args.key, base_url=args.url, max_concurrency=args.concurrency, progress=False
    )
    df = client.calls(page_size=args.page_size).to_polars()
    return df.height, df


def read_converz_polars_frame(args: argparse.Namespace) -> tuple[int, Any]:
    """converz → polars with ``frame="polars"``: the views polars stores are built as each
    page decodes, so ``to_polars()`` only hands the table over."""
    import converz

    client = converz.Client(
        api_key=args.key, base_url=args.url, max_concurrency=args.concurrency, progress=False
    )
    df = client.calls(page_size=args.page_size, frame="polars").to_polars()
    return df.height, df


def read_converz_pandas(args: argparse.Namespace) -> tuple[int, Any]:
    import converz

    client = converz.Client(
        api_key=args.key, base_url=args.url, max_concurrency=args.concurrency, progress=False
    )
    df = client.calls(page_size=args.page_size).to_pandas()
    return len(df), int(df.memory_usage(deep=False).sum())


def read_converz_arrow_only(args: argparse.Namespace) -> tuple[int, Any]:
    import converz

    client = converz.Client(
        api_key=args.key, base_url=args.url, max_concurrency=args.concurrency, progress=False
    )
    table = client.calls(page_size=args.page_size)
    return table.num_rows, int(table.to_arrow().nbytes)


def read_requests_pandas(args: argparse.Namespace) -> tuple[int, Any]:
    """The everyday baseline: requests, json, a DataFrame per page, concat."""
    import pandas as pd
    import requests

    session = requests.Session()
    session.headers["X-API-Key"] = args.key
    frames = []
    page = 1
    while True:
        response = session.get(
            f"{args.url}/calls", params={"page": page, "n_per_page": args.page_size}
        )
        response.raise_for_status()
        rows = response.json()
        if not rows:
            break
        frames.append(pd.DataFrame(rows))
        if len(rows) < args.page_size:
            break
        page += 1
    df = pd.concat(frames, ignore_index=True)
    return len(df), int(df.memory_usage(deep=False).sum())


async def _fetch_all(
    args: argparse.Namespace, handle: Callable[[bytes], Any], raw: bool = False
) -> list[Any]:
    """Every page with ``args.concurrency`` in flight; ``handle`` takes each body (inflated,
    or as sent when ``raw``). On the WAN run every request asks for gzip, as converz does."""
    import httpx

    headers = {"X-API-Key": args.key}
    if args.gzip:
        headers["Accept-Encoding"] = "gzip"
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(headers=headers, limits=limits) as client:
        semaphore = asyncio.Semaphore(args.concurrency)

        async def one(page: int) -> Any:
            params = {"page": page, "n_per_page": args.page_size}
            async with semaphore:
                if raw:
                    request = client.build_request(
                        "GET", f"{args.url}/calls", params=params, timeout=300
                    )
                    response = await client.send(request, stream=True)
                    response.raise_for_status()
                    body = b"".join([chunk async for chunk in response.aiter_raw()])
                    await response.aclose()
                    return handle(body)
                response = await client.get(f"{args.url}/calls", params=params, timeout=300)
                response.raise_for_status()
                return handle(response.content)

        return await asyncio.gather(*(one(p) for p in range(1, _pages(args) + 1)))


def read_httpx_polars(args: argparse.Namespace) -> tuple[int, Any]:
    """The savvy baseline: httpx async with converz's concurrency, orjson, polars.from_dicts."""
    import orjson
    import polars as pl

    def decode(body: bytes) -> Any:
        rows = orjson.loads(body)
        return pl.from_dicts(rows, infer_schema_length=None) if rows else None

    frames = [f for f in asyncio.run(_fetch_all(args, decode)) if f is not None]
    df = pl.concat(frames, how="diagonal_relaxed")
    return df.height, df


def read_transfer_ceiling(args: argparse.Namespace) -> tuple[int, Any]:
    """The same page requests with the same concurrency; bodies read and dropped."""
    sizes = asyncio.run(_fetch_all(args, len))
    return args.rows, int(sum(sizes))


def read_decode_ceiling(args: argparse.Namespace) -> tuple[int, Any]:
    """polars.read_ndjson on the same rows already in memory (fetched before the clock starts)."""
    import orjson
    import polars as pl

    bodies = asyncio.run(_fetch_all(args, lambda b: b))
    ndjson = b"\n".join(orjson.dumps(row) for body in bodies for row in orjson.loads(body))
    del bodies
    _start_clock(args)
    df = pl.read_ndjson(io.BytesIO(ndjson))
    return df.height, df


# The WAN scenario (bench/run.py --only wan): the emulator adds a round trip before every
# answer and shares a bandwidth among all connections; every method asks for gzip, so the link
# carries compressed bytes and each client inflates them.


def _gzip_table(args: argparse.Namespace, frame: str | None = None) -> Any:
    """converz's fetch with gzip forced on (``compression="gzip"``; "auto" skips loopback);
    ``frame=None`` is the default (no library named)."""
    import converz

    client = converz.Client(
        api_key=args.key,
        base_url=args.url,
        max_concurrency=args.concurrency,
        compression="gzip",
        progress=False,
    )
    return client.calls(page_size=args.page_size, frame=frame)


def read_wan_converz(args: argparse.Namespace) -> tuple[int, Any]:
    """converz → polars, gzip, no ``frame=``: pages decoded while the link leaves the decode
    idle are laid out for polars on the decode threads."""
    df = _gzip_table(args).to_polars()
    return df.height, df


def read_wan_converz_frame(args: argparse.Namespace) -> tuple[int, Any]:
    """converz → polars, gzip, ``frame="polars"``: polars' string views built on the decode
    threads while later pages download, instead of by ``to_polars()`` after the last."""
    df = _gzip_table(args, frame="polars").to_polars()
    return df.height, df


def read_wan_converz_table(args: argparse.Namespace) -> tuple[int, Any]:
    """The same fetch into converz's Arrow table (``frame="arrow"``), no frame built: what the
    link and the decode take, without polars' string views. The table is kept
    past the clock, as the frames of the other rows are: dropped inside it, its unmapping put
    a cost on this row that the others do not pay (dropping a 1M-call table took 0.09-0.16 s,
    with a CI run beside it)."""
    args.kept = _gzip_table(args, frame="arrow")
    return args.kept.num_rows, 0


def read_wan_httpx_polars(args: argparse.Namespace) -> tuple[int, Any]:
    """The savvy baseline on the WAN link: httpx (gzip), orjson, polars.from_dicts."""
    return read_httpx_polars(args)


def read_wan_transfer_ceiling(args: argparse.Namespace) -> tuple[int, Any]:
    """The same gzip page requests at the same concurrency; compressed bodies counted and
    dropped, never inflated: what the link allows."""
    return args.rows, int(sum(asyncio.run(_fetch_all(args, len, raw=True))))


def iter_converz(args: argparse.Namespace) -> tuple[int, Any]:
    """Streaming: memory must follow the page window, not the result."""
    import converz

    client = converz.Client(
        api_key=args.key, base_url=args.url, max_concurrency=args.concurrency, progress=False
    )
    rows = 0
    for page in client.iter_calls(page_size=args.page_size):
        rows += page.num_rows
    return rows, 0


def _write_frame(rows: int, ids: Any) -> Any:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    score = rng.random(rows)
    score[rng.random(rows) < 0.1] = np.nan
    return pl.DataFrame(
        {
            "call_id": ids,
            "label": rng.choice(["good", "bad", "neutral", "escalate"], rows),
            "score": pl.Series(score).fill_nan(None),
            "follow_up": pl.date_range(
                pl.date(2025, 1, 1), pl.date(2025, 12, 31), eager=True
            ).sample(rows, with_replacement=True, seed=0),
            "flag": rng.random(rows) < 0.5,
            "bucket": pl.Series(rng.choice(["a", "b", "c"], rows)).cast(pl.Categorical),
        }
    )


def _ids(args: argparse.Namespace) -> Any:
    import converz

    client = converz.Client(api_key=args.key, base_url=args.url, progress=False)
    return client.calls(columns=["call_id"], page_size=args.page_size).to_polars()["call_id"]


def write_converz(args: argparse.Namespace) -> tuple[int, Any]:
    import converz

    frame = _write_frame(args.rows, _ids(args))
    client = converz.Client(
        api_key=args.key, base_url=args.url, max_concurrency=args.concurrency, progress=False
    )
    _start_clock(args)
    result = client.push_updates(frame)
    return result.rows, frame


def write_requests(args: argparse.Namespace) -> tuple[int, Any]:
    """The everyday baseline: to_dict("list") per 100000-row chunk, requests.post(json=...)."""
    import requests

    frame = _write_frame(args.rows, _ids(args)).to_pandas()
    frame["follow_up"] = frame["follow_up"].astype(str)
    frame["bucket"] = frame["bucket"].astype(str)
    _start_clock(args)
    session = requests.Session()
    session.headers["X-API-Key"] = args.key
    for start in range(0, len(frame), 100_000):
        chunk = frame.iloc[start : start + 100_000]
        body = chunk.astype(object).where(chunk.notna(), None).to_dict("list")
        session.post(f"{args.url}/calls", json=body).raise_for_status()
    return len(frame), int(frame.memory_usage(deep=True).sum())


def latency_report(args: argparse.Namespace) -> tuple[int, Any]:
    import statistics

    import converz

    client = converz.Client(api_key=args.key, base_url=args.url, progress=False)
    times = []
    for _ in range(25):
        started = time.perf_counter()
        table = client.report(groupby=["date", "campaign"], days=90)
        times.append(time.perf_counter() - started)
    args.timed_seconds = statistics.median(times)
    return table.num_rows, 0


def latency_one_rep(args: argparse.Namespace) -> tuple[int, Any]:
    started = time.perf_counter()
    import converz

    client = converz.Client(api_key=args.key, base_url=args.url, progress=False)
    first = client.reps(page_size=1, rep_id=args.rep_id)
    args.timed_seconds = time.perf_counter() - started
    return first.num_rows, 0


METHODS = {
    name: fn
    for name, fn in globals().items()
    if callable(fn) and name.split("_")[0] in ("read", "write", "iter", "latency")
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("method", choices=sorted(METHODS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rep-id", default="")
    parser.add_argument("--gzip", action="store_true", help="httpx methods ask for gzip")
    args = parser.parse_args()
    args.timed_seconds = None
    # Every method pays the same imports before the clock starts, so RSS baselines match.
    import httpx  # noqa: F401
    import orjson  # noqa: F401
    import pandas  # noqa: F401
    import polars  # noqa: F401
    import pyarrow  # noqa: F401
    import requests  # noqa: F401

    import converz  # noqa: F401

    _start_clock(args)
    rows, what = METHODS[args.method](args)
    seconds = args.timed_seconds or (time.perf_counter() - args.started)
    peak = _status_mb("VmHWM")
    size, estimated = _frame_bytes(what)
    result = {
        "rows": rows,
        "seconds": seconds,
        "data_bytes": size,
        "peak_rss_mb": peak,
        "baseline_rss_mb": args.baseline_mb,
    }
    if estimated is not None:
        result["estimated_bytes"] = estimated
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
