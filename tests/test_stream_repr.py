"""`repr(client.iter_calls())` says what the stream lists, how far it got and whether it can go
on, without reading a page (outside session 14: it was ``converz.TableStream(...)``)."""

from __future__ import annotations

import re

import pytest

import converz
from converz.testing import Emulator

PREFIX = "converz.TableStream: calls(campaign=('sales', 'support')); "


def test_the_repr_counts_what_was_handed_out_and_says_when_it_finished():
    with Emulator(calls=3_000, reps=5, seed=3) as emu:
        stream = emu.client(progress=False).iter_calls(campaign=["sales", "support"], page_size=500)
        before = emu.wire_stats()["responses"]
        text = repr(stream)
        assert emu.wire_stats()["responses"] == before  # it read nothing
        assert text == PREFIX + "0 pages read, 0 tables (0 rows) handed out; not started"

        first, second = next(stream), next(stream)
        text = repr(stream)
        rows = f"{first.num_rows + second.num_rows:,}"
        assert re.fullmatch(
            re.escape(PREFIX) + rf"\d+ pages read, 2 tables \({rows} rows\) handed out; open", text
        ), text
        total = first.num_rows + second.num_rows + sum(page.num_rows for page in stream)
        text = repr(stream)
        assert text.startswith(PREFIX) and text.endswith(f"({total:,} rows) handed out; finished")


def test_the_repr_says_a_stream_stopped_by_an_error_cannot_go_on():
    with Emulator(calls=3_000, reps=5, seed=3) as emu:
        stream = emu.client(progress=False, retries=0).iter_calls(page_size=500)
        next(stream)
        emu.set_faults(error_rate=1.0)
        with pytest.raises(converz.ServerError):
            for _ in stream:
                pass
        text = repr(stream)
    assert text.startswith("converz.TableStream: calls(); ")
    assert text.endswith("; broken: stopped at ServerError while reading a page"), text


def test_control_characters_of_the_query_are_escaped():
    with Emulator(calls=50, reps=5, seed=3) as emu:
        stream = emu.client(progress=False).iter_calls(campaign=["red\x1b[31m", "rtl\u202eevil"])
        text = repr(stream)
    assert "\x1b" not in text and "\u202e" not in text
    assert r"'red\x1b[31m', 'rtl\u202eevil'" in text
