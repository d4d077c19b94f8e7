"""An error as the command line prints it: its settings named as the flags that set them.

The core words its messages and hints for Python callers (``lower max_concurrency=``, ``raise
timeout=``, ``e.g. schema={"m": "float64"}``), and so do the query and client layers. A user of
``converz fetch`` has flags instead (``--max-concurrency``, ``--timeout``, ``--schema m:float64``)
and no ``err.retry_after`` (outside trial 18: the CLI printed the Python spellings). This module
rewrites them, from one table, in what a command prints; the Python wording stays where it is
right. A setting the running command has no flag for is left as Python spells it, said to be so.

The CLI's own hints are already in its words: an aside ``(in Python: client.push_file(...))``,
``(to= in Python)`` or a Python call ``push_updates(...)`` in any text is kept as written.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from converz._query import CallsQuery, ReportQuery, RepsQuery, list_filters

__all__ = ["FLAGS", "for_cli"]

# Every setting a message or hint names as ``name=`` that the command line has a flag for, as
# the flag's dest (``args.max_concurrency``): a command has the flag when ``args`` has the dest.
# (``api_key`` has none, the key is read from CONVERZ_API_KEY only: said in _PHRASES.)
FLAGS: dict[str, str] = {
    "base_url": "--base-url",
    "tenant": "--tenant",
    "timeout": "--timeout",
    "retries": "--retries",
    "max_concurrency": "--max-concurrency",
    "page_size": "--page-size",
    "schema": "--schema",
    "columns": "--columns",
    "start_date": "--start-date",
    "end_date": "--end-date",
    "after": "--after",
    "before": "--before",
    "days": "--days",
    "metric": "--metric",
    "groupby": "--groupby",
    "to": "--to",
    "clear": "--clear",
    "chunk_rows": "--chunk-rows",
    "on_duplicate": "--on-duplicate",
    "timezone": "--timezone",
    "strict": "--strict",
    "force_old": "--force-old",
    "full_refresh": "--full-refresh",
    "overlap_days": "--overlap-days",
}

# The list filters of the three endpoints, each a flag of the fetch (and sync) of its endpoint.
FLAGS.update(
    (name, "--" + name.replace("_", "-"))
    for query in (CallsQuery, RepsQuery, ReportQuery)
    for name in list_filters(query)
)

# Whole phrases with no flag-for-setting form, as the core and the client word them.
_PHRASES: tuple[tuple[str, str], ...] = (
    # The RateLimitError's attribute: the message already says the server's wait in words.
    (
        "retry_after is the server's wait in seconds when it sent a valid Retry-After (else None)",
        "the message says how long the server asked to wait, if it did",
    ),
    ("pass api_key=... or set CONVERZ_API_KEY", "set CONVERZ_API_KEY"),
    # The command has no key flag (a key on the command line stays in the shell's history):
    # its key errors name the variable, not a parameter it cannot give (outside trial 87 A5).
    ("invalid parameter `api_key`: no API key", "no API key"),
    (", or pass api_key=...", ""),
    (" (read because api_key= was not given)", ""),
    (", or pass base_url=...", ", or give --base-url"),
    ("api_key=... or CONVERZ_API_KEY", "CONVERZ_API_KEY"),
    ("pass api_key= instead", "set CONVERZ_API_KEY instead"),
    ("use a datetime.date or 'YYYY-MM-DD'", "use YYYY-MM-DD"),
    # A --strict push's unknown keys: the command prints them on the line before its error.
    ("err.result.not_found lists them", "the lines above list them"),
    (
        "use a datetime.datetime without tzinfo or 'YYYY-MM-DD HH:MM[:SS]'",
        "use 'YYYY-MM-DD HH:MM[:SS]'",
    ),
)

# What is rewritten, in one pass (a flag written is never read again): ``schema={...}`` (the
# types, or the hint's ``{column: type}``); ``name=`` and the value after it, if any (quoted
# text, a number, True, None or [...]); ``base_url`` named without ``=`` ("check that base_url
# ..."); the parameter of an InvalidParameterError's message. Not inside a path or a URL's query
# (``data/to=x/part.csv``, ``?columns=a``): those are the user's or the server's text.
_WORDS = re.compile(
    r"(?<![\w.?&-])(?<![\w.-]/)schema=\{(?P<schema>[^{}]*)\}"
    r"|(?<![\w.?&-])(?<![\w.-]/)(?P<name>[a-z][a-z_]*)="
    r"(?P<value>\"[^\"]*\"|'[^']*'|\d[\d_]*|True|None|\[[^\]]*\])?"
    r"|(?<![\w.`-])(?P<bare>base_url)(?![\w=])"
    r"|invalid parameter `(?P<parameter>[a-z_]+)`"
)
_SCHEMA_ENTRY = re.compile(r"""\s*["']([^"']*)["']\s*:\s*["']([^"']*)["']\s*""")
# ``--flag VALUE (--flag VALUE)``: a text that gave both spellings says the flag once, as
# rendered here (quoted for a shell where the core's was not: ``--schema 'a b:string'``).
_TWICE = re.compile(r"(?P<flag>--[a-z-]+)(?P<value> [^()]*?)? \((?P=flag)(?P<again> [^()]*)?\)")


def _once(found: re.Match[str]) -> str:
    value, again = found.group("value") or "", found.group("again") or ""
    if value.replace("'", "") != again.replace("'", ""):
        return found.group(0)
    return found.group("flag") + again


def for_cli(text: str, args: Any) -> str:
    """``text`` with its Python settings as the flags of the command ``args`` was parsed for.

    A setting the command has no flag for keeps its Python spelling, and the text ends saying
    so (rather than naming a flag the command would refuse).

    Example:
        >>> import argparse
        >>> args = argparse.Namespace(max_concurrency=None, timeout=None, schema=[])
        >>> for_cli('lower max_concurrency=, or e.g. schema={"m": "float64"}', args)
        'lower --max-concurrency, or e.g. --schema m:float64'
    """
    missing: list[str] = []
    said = "".join(
        piece if kept else _render(piece, args, missing) for piece, kept in _pieces(text)
    )
    if missing:
        missing = list(dict.fromkeys(missing))
        names = ", ".join(f"{name}=" for name in missing)
        flags = ", ".join(FLAGS[name] for name in missing)
        what = "a setting" if len(missing) == 1 else "settings"
        said += f" ({names}: {what} of the Python API; this command has no {flags})"
    return said


# ``schema names 'x'`` and ``schema['x']: 'i4'``, as the schema checks word a column and its
# type (outside trial 20); written as the command's ``--schema x:i4``.
_SCHEMA_NAMES = re.compile(r"\bschema names '([^']*)'")
_SCHEMA_ITEM = re.compile(r"\bschema\['([^']*)'\]: '([^']*)'")
_SCHEMA_PARAMETER = re.compile(r'invalid parameter `schema\["([^"]*)"\]`')


def _render(text: str, args: Any, missing: list[str]) -> str:
    for python, cli in _PHRASES:
        text = text.replace(python, cli)
    if _has("schema", args):
        text = _SCHEMA_NAMES.sub(r"--schema names `\1`", text)
        text = _SCHEMA_ITEM.sub(r"--schema \1:\2", text)
        text = _SCHEMA_PARAMETER.sub(r"invalid column `\1`", text)

    def word(found: re.Match[str]) -> str:
        name = found.group("name")
        if found.group("schema") is not None:
            return _schema(found.group("schema"), found.group(0), args, missing)
        if name is not None:
            return _setting(name, found.group("value"), found.group(0), args, missing)
        if found.group("bare") is not None:
            return "--base-url (or CONVERZ_BASE_URL)" if _has("base_url", args) else "base_url"
        parameter = found.group("parameter")
        shown = FLAGS[parameter] if _has(parameter, args) else parameter
        if parameter in ("path", "output") and hasattr(args, "output"):
            shown = "-o"  # the file a fetch writes: the core names it as Python's path=
        return f"invalid parameter `{shown}`"

    return _TWICE.sub(_once, _WORDS.sub(word, text))


def _has(name: str, args: Any) -> bool:
    """Whether the running command has the flag of setting ``name``."""
    return name in FLAGS and hasattr(args, name)


def _setting(name: str, value: str | None, written: str, args: Any, missing: list[str]) -> str:
    if not _has(name, args):
        if name in FLAGS:
            missing.append(name)
        return written  # not a setting (the API's own parameter, say), or none of this command
    flag = FLAGS[name]
    if value is None or value == "True":
        return flag
    if value == "None":
        return f"no {flag}"
    if value[0] in "\"'":
        return f"{flag} {shlex.quote(value[1:-1])}"
    if value[0] == "[":
        items = [item.strip().strip("\"'") for item in value[1:-1].split(",") if item.strip()]
        if not items:
            return flag
        # List flags take commas; --clear takes words (a column name may hold a comma).
        if name == "clear":
            return f"{flag} " + " ".join(shlex.quote(item) for item in items)
        return f"{flag} {shlex.quote(','.join(items))}"
    return f"{flag} {value.replace('_', '')}"


def _schema(entries: str, written: str, args: Any, missing: list[str]) -> str:
    if not _has("schema", args):
        missing.append("schema")
        return written
    pairs = _SCHEMA_ENTRY.findall(entries)
    if pairs:
        return "--schema " + shlex.quote(",".join(f"{name}:{kind}" for name, kind in pairs))
    return "--schema COLUMN:TYPE"


def _pieces(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into pieces, each with whether it is kept as written.

    Kept: a parenthesised aside that says ``in Python``, and a Python call (``name(`` up to its
    closing parenthesis). Quoted text inside either is skipped, so a parenthesis in a path
    does not end it early.
    """
    pieces: list[tuple[str, bool]] = []
    start = i = 0
    while i < len(text):
        if text[i] == "(":
            end = _closing(text, i)
            group = text[i:end]
            call = i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")
            if end > i and (call or "in Python" in group):
                opening = i
                if call:  # the callee's name is part of the call
                    while opening > start and (
                        text[opening - 1].isalnum() or text[opening - 1] in "._"
                    ):
                        opening -= 1
                pieces.append((text[start:opening], False))
                pieces.append((text[opening:end], True))
                start = i = end
                continue
        i += 1
    pieces.append((text[start:], False))
    return pieces


def _closing(text: str, opening: int) -> int:
    """The index after the parenthesis closing the one at ``opening`` (``opening`` if none)."""
    depth = 0
    quote = ""
    i = opening
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'" and depth > 0 and _opens_string(text, i):
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return opening


def _opens_string(text: str, i: int) -> bool:
    """Whether the quote at ``i`` starts a Python string literal (not an apostrophe: it's)."""
    return i == 0 or not text[i - 1].isalnum()
