r"""Text from a server or a file, made safe to print: what a terminal would act on is escaped.

An ANSI escape sequence in a column name, an error body or a cell would recolour the terminal,
move the cursor or retitle the window when a repr, an error or a warning is printed, and a
bidirectional override would reorder what follows it ("Trojan Source"). Such characters are
shown as Python spells them (``\x1b``, ``\u202e``); every other character, accented letters
and emoji included, is kept as is.
"""

from __future__ import annotations

import unicodedata

from converz._core import redact_keys

# Bidirectional overrides and isolates (format characters): they reorder the text after them
# on screen, so a value could make the text read as something else.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Control characters (C0, DEL, C1), line and paragraph separators, lone surrogates.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


def printable(text: str, *, keep_newlines: bool = False) -> str:
    r"""``text`` with the characters a terminal acts on escaped as Python spells them.

    ``keep_newlines`` leaves ``\n`` as it is (an error's own lines: message, then hint). The API
    key of any client made in the process is replaced by ``***``: what is shown may quote a
    server (a column it named by the key, outside trial 26b F2).

    Example:
        >>> printable("red\x1b[31m")
        'red\\x1b[31m'
        >>> printable("a\nb", keep_newlines=True)
        'a\nb'
    """
    text = redact_keys(text)
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(
        ch
        if keep_newlines and ch == "\n"
        else repr(ch)[1:-1]
        if ch in _BIDI or unicodedata.category(ch) in _ESCAPED_CATEGORIES
        else ch
        for ch in text
    )
