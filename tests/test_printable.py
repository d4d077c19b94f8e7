"""Text shown escaped as Python spells it: the same table as the Rust escaper's unit test
(src/printable.rs), which wrote ESC as ``\\u{1b}`` where Python writes ``\\x1b`` (outside trial
15: one error message showed both)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from converz._printable import printable

CASES = json.loads((Path(__file__).parent / "printable_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("text", "shown"), CASES["cases"])
def test_each_character_a_terminal_acts_on_is_spelled_as_python_spells_it(text, shown):
    assert printable(text) == shown


def test_the_table_has_each_kind_of_character():
    texts = "".join(text for text, _ in CASES["cases"])
    for kind in ["\x00", "\x1b", "\t", "\n", "\r", "\x7f", "\x85", "\u202e", "\u2066", "\u2028"]:
        assert kind in texts, repr(kind)
