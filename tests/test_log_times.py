"""A record logged on converz's own threads is dated when it was logged, not when emitted.

Records logged on the runtime's threads (page lines, retries) wait for the calling thread to
emit them: at the operation's next tick, or, for a stream's pages fetched ahead, at its next
`next()`. They bore the time they were emitted, so a timeline of a fetch built from its page
lines was off by as long as they waited (outside trial 38 F5/F6).
"""

from __future__ import annotations

import logging
import time

import converz
from converz.testing import Emulator


class SlowAtFirstPage(logging.Handler):
    """Keeps every record with the time it reached the handler, and takes `pause` seconds over
    the first page line: the pages logged meanwhile wait to be emitted."""

    def __init__(self, pause: float) -> None:
        super().__init__()
        self.pause = pause
        self.seen: list[tuple[logging.LogRecord, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record, time.time()))
        if record.getMessage().startswith("GET /calls page") and self.pause:
            time.sleep(self.pause)
            self.pause = 0


def test_records_that_waited_to_be_emitted_keep_the_time_they_were_logged():
    handler = SlowAtFirstPage(pause=0.8)
    logger = logging.getLogger("converz")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        # One page in flight, a tenth of a second each: pages come in while the handler holds
        # the calling thread over the first.
        with Emulator(calls=12_000, reps=10, latency=0.1) as emu:
            client = converz.Client(base_url=emu.url, api_key=emu.api_key, max_concurrency=1)
            assert client.calls(page_size=2_000).num_rows == 12_000
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    pages = [(r, at) for r, at in handler.seen if r.getMessage().startswith("GET /calls page")]
    assert len(pages) >= 6
    waited = [at - r.created for r, at in pages]
    assert max(waited) > 0.4, waited
    # Logged in order, a page's latency apart, not all at the moment the handler returned.
    created = [r.created for r, _ in pages]
    assert created == sorted(created)
    assert created[3] - created[1] > 0.1, created
    # Every record reaches the handler in the order it was logged: the fetch's summary line,
    # logged on the calling thread, after the page lines its tasks logged before it (outside
    # trial 44 F4: it came first, dated after them).
    dates = [r.created for r, _ in handler.seen]
    assert all(b >= a - 0.005 for a, b in zip(dates, dates[1:])), dates
    assert handler.seen[-1][0].getMessage().startswith("decoded "), handler.seen[-1][0].msg
    # The fields Python derives from `created` moved with it: the milliseconds within its
    # second, and the time since `logging` was loaded (the same start for every record).
    starts = [r.created * 1000 - r.relativeCreated for r, _ in handler.seen]
    assert max(starts) - min(starts) < 5, starts
    for record, _ in handler.seen:
        assert record.msecs == int((record.created - int(record.created)) * 1000)
