"""Hostile servers whose pages or push answers contradict themselves, over a raw socket.

A listing must never end silently on a gap it cannot explain: a short page before the last at
every page size (a server that drops rows from its pages after paging them) is not a page-size
cap, and an empty page followed by pages with rows is not the end. Either is a
:class:`converz.DecodeError` that says what the server did; rows appended while paging (which
the contract allows) still arrive, each once. A push answer that does not account for every
row of its chunk once leaves the chunk in ``remaining``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Callable, Optional

import polars as pl
import pytest
from hostile_support import KEY, RawServer, Request, Responder, response, serving

import converz


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def page_of(request: Request) -> tuple[int, int]:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query)
    return int(query["page"][0]), int(query["n_per_page"][0])


def rows(ids: list[int]) -> bytes:
    body = json.dumps([{"call_id": i} for i in ids]).encode()
    return response("200 OK", body, "Content-Type: application/json")


def share(total: int, page: int, size: int) -> list[int]:
    """`call_id`s 1..total in pages of `size`: page `page`'s."""
    return list(range((page - 1) * size + 1, min(page * size, total) + 1))


READS: dict[str, Callable[[converz.Client], object]] = {
    "calls": lambda c: c.calls(page_size=10),
    "iter_calls": lambda c: list(c.iter_calls(page_size=10)),
}


def decode_error(server: RawServer, read: str, **options: object) -> str:
    with pytest.raises(converz.DecodeError) as info:
        READS[read](server.client(timeout=5.0, **options))
    text = str(info.value)
    assert KEY not in text and KEY not in repr(info.value)
    if "cannot be read completely" in text:
        # Not the generic "check base_url, not a login page" hint of a body that is not JSON.
        assert "do not add up to one listing" in str(info.value.hint), info.value.hint
    return text


def sizes(server: RawServer) -> set[int]:
    return {page_of(r)[1] for r in server.requests if r.method == "GET"}


def short_page_three(request: Request) -> bytes:
    page, size = page_of(request)
    ids = share(100, page, size)
    return rows(ids[2:] if page == 3 else ids)


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_short_page_before_the_last_at_every_size_is_an_error(serve, read, concurrency):
    # The defect: taken for a page-size cap again and again (10 -> 8 -> 6 -> 4 -> 2), the
    # listing ended with 30 of 100 rows and warnings that said "so no row is lost".
    server = serve(short_page_three)
    text = decode_error(server, read, max_concurrency=concurrency)
    assert "page 3 held 6 rows where n_per_page=8 was asked" in text, text
    assert "because page 3 held 8 rows where 10 were asked" in text, text
    assert "cannot be read completely" in text, text
    assert sizes(server) == {10, 8}  # re-paged once, never smaller


def hidden_after_paging(request: Request) -> bytes:
    page, size = page_of(request)
    return rows([i for i in share(100, page, size) if i not in (25, 26)])


def test_rows_filtered_after_paging_are_an_error_not_a_loss(serve):
    # The defect: 'the server seems to ignore the page parameter' after shrinking the pages to
    # one row, or fewer rows than the server shows, without an error.
    server = serve(hidden_after_paging)
    text = decode_error(server, "calls")
    assert "page 4 held 6 rows where n_per_page=8 was asked" in text, text
    assert "ignore the page parameter" not in text
    assert min(sizes(server)) == 8


def empty_page_four(request: Request) -> bytes:
    page, size = page_of(request)
    if page >= 4:
        time.sleep(0.03)  # later pages arrive after the ones before them
    return rows([] if page == 4 else share(100, page, size))


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_empty_page_with_rows_after_it_is_an_error(serve, read, concurrency):
    # The defect: the listing ended at page 4 with 30 of 100 rows, without a warning.
    server = serve(empty_page_four)
    text = decode_error(server, read, max_concurrency=concurrency)
    # Which later page is named depends on which answer was in hand first: with 4 in flight, a
    # CI run named page 6.
    named = re.search(r"page 4 was empty but page (\d+) had rows", text)
    assert named is not None and int(named.group(1)) > 4, text
    assert "inconsistent" in text and "cannot be read completely" in text, text


def empty_pages_three_and_four(request: Request) -> bytes:
    page, size = page_of(request)
    return rows([] if page in (3, 4) else share(95, page, size))


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("concurrency", [1, 2, 3, 4, 6, 8])
def test_two_empty_pages_with_rows_after_them_are_an_error_at_every_concurrency(
    serve, read, concurrency
):
    # Outside trial 97 P1: at concurrency 2 to 4 the listing ended at page 3 with 20 of 95
    # rows, silently; at 1, 6 and 8 the same server was refused.
    server = serve(empty_pages_three_and_four)
    text = decode_error(server, read, max_concurrency=concurrency)
    named = re.search(r"page 3 was empty but page (\d+) had rows", text)
    assert named is not None and int(named.group(1)) >= 5, text


@pytest.mark.parametrize("total", [0, 20, 95, 100])
@pytest.mark.parametrize("concurrency", [1, 2, 4, 8])
def test_a_listing_ends_on_its_empty_page_with_every_row(serve, total, concurrency):
    """The end an empty page makes (after a full page, or the first page) holds every row,
    and the pages that confirm it are the two after it at every concurrency."""
    server = serve(lambda request: rows(share(total, *page_of(request))))
    got = server.client(timeout=5.0, max_concurrency=concurrency).calls(page_size=10)
    assert sorted(got.to_arrow()["call_id"].to_pylist() if total else []) == list(
        range(1, total + 1)
    )
    asked = {page_of(r)[0] for r in server.requests}
    last = -(-total // 10) + 1  # the first page past the rows
    if total % 10 == 0:
        assert {last + 1, last + 2} <= asked, sorted(asked)


class AppendedBehindPageThree:
    """30 rows until page 4 was answered, 100 after: rows appended while paging."""

    def __init__(self) -> None:
        self.appended = False

    def __call__(self, request: Request) -> bytes:
        page, size = page_of(request)
        time.sleep({4: 0.03}.get(page, 0.1 if page > 4 else 0))
        total = 100 if self.appended else 30
        if page == 4:
            self.appended = True
        return rows(share(total, page, size))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_rows_appended_behind_an_empty_page_arrive_once(serve, concurrency):
    # Legitimate (Part B: rows may be inserted while paging): page 4, empty when first asked
    # for while later pages were on their way, is read again, neither refused nor the end.
    server = serve(AppendedBehindPageThree())
    table = server.client(timeout=5.0, max_concurrency=concurrency).calls(page_size=10)
    assert table.to_polars()["call_id"].to_list() == list(range(1, 101))
    assert sum(page_of(r)[0] == 4 for r in server.requests) >= 2


FRAME = pl.DataFrame({"call_id": [1, 2, 3], "v": [1, 2, 3]})


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (
            {"updated": 1, "not_found": []},
            "which leaves 2 of the 3 rows sent unaccounted for",
        ),
        (
            {"updated": 2, "not_found": [777]},
            "lists 777 in `not_found`, which the chunk did not send",
        ),
        (
            {"updated": 2, "not_found": [2, 2]},
            "more rows than the 3 sent",
        ),
        (
            {"updated": 3, "not_found": [1]},
            "`updated` 3 and 1 key in `not_found`, more rows than the 3 sent",
        ),
    ],
)
def test_a_push_answer_that_contradicts_the_chunk_leaves_it_remaining(serve, answer, says):
    # The defect: each of these was reported as a success, the chunk's rows as written.
    body = json.dumps(answer).encode()
    server = serve(lambda request: response("200 OK", body, "Content-Type: application/json"))
    with pytest.raises(converz.PushError) as info:
        server.client().push_updates(FRAME)
    err = info.value
    assert isinstance(err.__cause__, converz.DecodeError)
    assert says in str(err), str(err)
    assert [c.status for c in err.result.chunks] == ["failed"]
    assert "not known to be applied" in err.result.chunks[0].error
    assert err.result.updated == 0
    assert err.result.remaining.to_polars().equals(FRAME)
    assert KEY not in str(err) and KEY not in err.result.report()


@pytest.mark.parametrize(
    "answer",
    [
        {"updated": 3, "not_found": []},
        {"updated": 2, "not_found": [3]},
        {"updated": 1, "not_found": ["2", 3]},  # a server may quote an integer key
        {"updated": 0, "not_found": [1, 2, 3]},
    ],
)
def test_a_push_answer_that_accounts_for_every_row_is_applied(serve, answer):
    body = json.dumps(answer).encode()
    server = serve(lambda request: response("200 OK", body, "Content-Type: application/json"))
    result = server.client().push_updates(FRAME)
    assert result.ok and result.remaining is None
    assert result.updated == answer["updated"]


class Scripted:
    """Holds every page request until its turn in `script` (page, calls inserted just before
    answering it, and optionally calls deleted then); later requests are answered as they
    come. Calls 1000..10000 at the start, or `ids`."""

    def __init__(self, script: list[tuple], ids: Optional[list[int]] = None) -> None:
        self.script = list(script)
        self.ids = ids or list(range(1000, 11000, 1000))
        self.lock = threading.Condition()

    def __call__(self, request: Request) -> bytes:
        page, size = page_of(request)
        with self.lock:
            deadline = time.monotonic() + 5
            while self.script and self.script[0][0] != page and time.monotonic() < deadline:
                self.lock.wait(deadline - time.monotonic())
            if self.script and self.script[0][0] == page:
                _, inserted, *deleted = self.script.pop(0)
                self.ids = sorted(set(self.ids + inserted) - set(*deleted))
            self.lock.notify_all()
            return rows(self.ids[(page - 1) * size : page * size])


@pytest.mark.parametrize("read", ["calls", "iter_calls"])
def test_a_short_page_that_fills_when_read_again_does_not_end_the_listing(serve, read):
    """Found by the outside trial (data loss, default concurrency): page 3 came back short
    ([10000]), read again it was full; page 4, empty, read again held [9000, 10000]. The limit
    the first short page 3 had set kept page 5 from being asked for, so the listing ended before
    page 4 was handed out: call 10000 was lost, with no warning."""
    script = [
        (3, [3996]),
        (4, [2666, 6198, 2250]),
        (1, []),
        (2, []),
        (3, [6870, 7841]),
        (4, [2415]),
    ]
    server = serve(Scripted(script))
    client = server.client(timeout=10.0, max_concurrency=4)
    result = getattr(client, read)(page_size=5)
    tables = [result] if read == "calls" else list(result)
    got = [i for t in tables for i in t.to_arrow().column("call_id").to_pylist()]
    assert len(got) == len(set(got)), got
    missing = set(range(1000, 11000, 1000)) - set(got)
    assert not missing, (missing, [page_of(r) for r in server.requests])


def ids_and_warnings(client: converz.Client, read: str, page_size: int) -> tuple[list, list]:
    """The `call_id`s a read gives in order, and its warnings (a stream's once exhausted)."""
    if read == "calls":
        table = client.calls(page_size=page_size)
        return table.to_arrow().column("call_id").to_pylist(), list(table.warnings)
    stream = client.iter_calls(page_size=page_size)
    got = [i for t in stream for i in t.to_arrow().column("call_id").to_pylist()]
    return got, list(stream.warnings)


@pytest.mark.parametrize("read", READS)
def test_rows_pushed_onto_the_last_page_read_again_are_warned_of(serve, read):
    """Found by the outside trial (F16): page 1, answered after call 1500 was inserted, lost
    call 6000 to page 2, answered before it; the re-read of page 2 brought the call back with
    no repeat, and no warning said that rows had moved."""
    server = serve(Scripted([(2, []), (3, []), (1, [1500])]))
    got, warnings = ids_and_warnings(server.client(timeout=10.0, max_concurrency=4), read, 6)
    assert got == [1000, 1500, *range(2000, 11000, 1000)]
    asked = [page_of(r)[0] for r in server.requests]
    assert asked.count(2) == 2, asked
    assert len(warnings) == 1 and "moved between pages" in warnings[0], warnings
    assert "last page" in warnings[0], warnings


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    ("calls", "size", "script", "last"),
    [
        (26, 16, [(2, []), (1, []), (3, [], [4000])], 2),
        (31, 10, [(4, []), (5, []), (6, []), (1, []), (2, []), (3, []), (4, [], [2000])], 4),
    ],
    ids=["re-read-short", "re-read-empty"],
)
def test_a_row_deleted_ahead_of_the_last_page_keeps_the_row_its_first_reading_held(
    serve, read, calls, size, script, last
):
    """Outside trial 64 F2: pages 2 and 1 answered, then call 4000 deleted, which moved call
    17000 back onto page 1, already read. The short last page's re-read (18000..26000)
    replaced its first answer (17000..26000), so call 17000, served and still there, was
    lost, and the warning said every row was in the result once. Trial 67 F1: a re-read the
    delete left empty ended the listing, without the first answer's row (31000). Deletes are
    outside the contract; a row the fetch was served is still never dropped, and the warning
    says so."""
    ids = list(range(1000, (calls + 1) * 1000, 1000))
    server = serve(Scripted(script, ids=ids))
    got, warnings = ids_and_warnings(server.client(timeout=10.0, max_concurrency=8), read, size)
    asked = [page_of(r)[0] for r in server.requests]
    assert asked.count(last) == 2, asked
    assert got == ids, asked
    assert len(warnings) == 1, warnings
    assert "lacked 1 call_id row its first reading held" in warnings[0], warnings
    assert "kept as first read" in warnings[0], warnings


def capped_from_page_three(request: Request) -> bytes:
    page, size = page_of(request)
    ids = share(100, page, size)
    return rows(ids[:8] if size == 10 and page >= 3 else ids)


@pytest.mark.parametrize("read", READS)
def test_re_paging_after_a_cap_past_page_one_is_not_warned_of_as_moved_rows(serve, read):
    """Found by the outside trial (F16): re-paging from page 1 at the capped size repeats the
    rows of the first pages, and those repeats were warned of as rows that moved."""
    server = serve(capped_from_page_three)
    got, warnings = ids_and_warnings(server.client(timeout=10.0, max_concurrency=4), read, 10)
    assert got == list(range(1, 101))
    assert len(warnings) == 1 and "caps the page size" in warnings[0], warnings
    assert sizes(server) == {10, 8}


def stale_page_three(request: Request) -> bytes:
    """A stale cache or cursor bug: page 3 always repeats page 2."""
    page, size = page_of(request)
    return rows(share(50, 2 if page == 3 else page, size))


@pytest.mark.parametrize("read", READS)
def test_a_page_the_in_order_read_serves_again_ends_the_listing_in_an_error(serve, read, tmp_path):
    """Outside trial 21: a whole page the in-order re-read serves again means the server
    served a page twice, so rows are missing (10 of 50 here); the warning said "every row is
    in the result once". Trial 22: a warning that rows may be missing still let `calls()`
    return and `fetch -o` write its file and exit 0. It is now an error, after which no file
    is left. (A server that shifts its pages by a row looks like rows inserted while paging,
    which skip none: not told apart.)"""
    server = serve(stale_page_three)
    text = decode_error(server, read, max_concurrency=4)
    assert "stale page" in text and "may be missing" in text, text
    assert "every row is in the result once" not in text
    # A page's worth of calls inserted ahead of the read between two requests looks the same
    # (outside trial 25 F3: legitimate inserts at page_size=1 were blamed on a cache): the
    # message says both, and the hint leads with the larger page_size.
    assert "inserted ahead of the read" in text and "n_per_page=10" in text, text
    assert "hint: fetch again, with a larger page_size" in text, text
    out = tmp_path / "calls.parquet"
    env = {**os.environ, "CONVERZ_API_KEY": KEY, "CONVERZ_BASE_URL": server.url}
    cli = [sys.executable, "-m", "converz", "fetch", "calls", "--page-size", "10", "-o", str(out)]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "stale page" in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


def ties_in_random_order(seed: int) -> Responder:
    """A server sorting by a time that four calls share, ties in a new order every request (as
    ``ORDER BY start_time LIMIT .. OFFSET ..`` may): a read in order skips rows too."""
    import random

    draw = random.Random(seed)
    lock = threading.Lock()

    def respond(request: Request) -> bytes:
        page, size = page_of(request)
        with lock:
            order = sorted(range(1, 96), key=lambda i: ((i - 1) // 4, draw.random()))
        return rows(order[(page - 1) * size : page * size])

    return respond


@pytest.mark.parametrize("read", READS)
def test_a_server_whose_order_changes_between_requests_loses_no_row_silently(serve, read):
    """Outside trial 63 F1: ties in random order per request lost rows in 13 of 20 fetches
    (89 of 95 rows), with a warning that every row was in the result once. A row the first
    read was served and the in-order read was not shows the order changed: an error. Each
    fetch either has every row once or ends in that error, and some end in it."""
    errors: list[converz.DecodeError] = []
    for seed in range(12):
        server = serve(ties_in_random_order(seed))
        client = server.client(timeout=5.0, max_concurrency=4)
        try:
            got = READS[read](client)
        except converz.DecodeError as err:
            errors.append(err)
            continue
        batches = got if isinstance(got, list) else [got]
        ids = [i for batch in batches for i in pl.DataFrame(batch)["call_id"].to_list()]
        assert sorted(ids) == list(range(1, 96)), (seed, sorted(set(range(1, 96)) - set(ids)))
    assert errors, "no fetch met a changed order: the test tests nothing"
    for err in errors:
        assert "row order changed between requests" in str(err), err
        assert "every row is in the result once" not in str(err)
        assert "page_size that holds the whole listing" in str(err.hint), err.hint


def test_a_row_no_read_was_served_is_told_by_where_the_in_order_read_repeats(serve):
    """Outside trial 64 F1: four calls with one time, pages of two read one at a time. The
    first read was served [3, 4], [3, 2], [] and the in-order read [2, 3], [4, 2], []: call 1
    in neither, every key of the first read in the second, and the result lacked it with a
    warning that every row was in it. Rows inserted ahead of an in-order read repeat the
    previous page's last rows at the next page's start; 2 at the end of page 2 is not that."""
    answers = {1: [[3, 4], [2, 3]], 2: [[3, 2], [4, 2]]}
    lock = threading.Lock()

    def respond(request: Request) -> bytes:
        page, _ = page_of(request)
        with lock:
            served = answers.get(page, [])
            return rows(served.pop(0) if served else [])

    server = serve(respond)
    with pytest.raises(converz.DecodeError) as info:
        server.client(timeout=5.0, max_concurrency=1).calls(page_size=2)
    text = str(info.value)
    assert "row order changed between requests" in text, text
    assert "served rows again on page 2" in text, text
