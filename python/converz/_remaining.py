"""The options a stopped push's ``NAME.remaining.EXT`` was left with, kept beside it.

The file holds the rows not applied; how they are to be sent is in the push's options: nulls
that clear (``--clear``), a CSV's ``00123`` kept as text (``--schema``), times converted from
the tenant's zone (``--timezone``). The resume hint repeats them, but a file pushed by hand, or
by an Airflow task whose options were edited since, may be pushed without them, and then sends
other values. So ``NAME.remaining.EXT.json`` records them when the file is written (one way for
every format), a push of the file compares its own options with them before any request (and
reads its rows with the types recorded with them: one read of the record for both), and the
record is removed with the file.

The record also makes the file converz's: a ``NAME.remaining.EXT`` with no record beside it is
the user's own file (``q3.remaining.csv``, an ``inventory.remaining.csv`` unrelated to
``inventory.csv``), never removed, resumed from or taken in place of an input (outside trial:
both were deleted after a push). And it identifies the input the rows came from (name, size,
modification time, SHA-256 of its bytes): the file stands in for that input only while the
input is still those bytes, whatever the times say (outside trial: a new ``in.csv`` copied
with ``cp -p``, older than a stale remaining file, was never pushed).

A record is the file's only while it is converz's and for these bytes: a JSON beside the file
that is not a converz record is the user's (outside trial 16: a ``rep.remaining.csv`` of the
user's, beside a JSON of theirs, was refused with advice about converz's resume hint), and one
written for other bytes (the file was edited, or replaced, after converz wrote it) describes
another file. Either way the file is an ordinary one. The record also says how many rows the
file holds and the tenant they were for, so that a refusal to push over them can say both.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from converz._schema_types import check_schema, resolve_type
from converz.exceptions import InvalidParameterError

__all__ = [
    "Record",
    "check_options",
    "forget",
    "identify",
    "load",
    "not_ours",
    "record",
    "record_path",
    "same_input",
    "same_tenant",
    "text_as_one",
]

_KIND = "converz push options"
# 2 adds the input's identity; a record of version 1 (none) is still read, and its file never
# stands in for an input.
_VERSION = 2
_READ_VERSIONS = (1, 2)
_DEFAULTS: dict[str, Any] = {
    "to": None,
    "schema": {},
    "clear": [],
    "timezone": None,
    "on_duplicate": "error",
    "strict": False,
    "chunk_rows": 100_000,
}
# Options that change what is sent or applied; chunk_rows only sizes the requests, so a
# different one is taken (the record still has it, for the exact command).
_COMPARED = ("to", "schema", "clear", "timezone", "on_duplicate", "strict")


def record_path(remaining: Path) -> Path:
    """``NAME.remaining.EXT.json``, beside ``NAME.remaining.EXT``."""
    return remaining.with_name(remaining.name + ".json")


@dataclass(frozen=True)
class Record:
    """What is recorded beside a remaining file.

    Attributes:
        options: Every option of :data:`_DEFAULTS`, as recorded.
        types: The types its rows were read with that the file cannot say (a CSV's text columns).
        source: The input the rows came from (see :func:`identify`); None when not known.
        rows: The rows the file held when written; None in a record of an older converz.
        base_url: The tenant the rows were for; None in a record of an older converz.
        changed: The input changed while it was pushed: the rows are its older bytes', and
            values pushed since (a newer input's) would be written over by them.
    """

    options: dict[str, Any]
    types: dict[str, str]
    source: Optional[dict[str, Any]]
    rows: Optional[int] = None
    base_url: Optional[str] = None
    changed: bool = False

    def read_schema(self) -> dict[str, Any]:
        """The types its rows are read with: the recorded ones, under the push's ``schema``."""
        return {**self.types, **self.options["schema"]}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def identify(path: Path, before: Optional[os.stat_result] = None) -> Optional[dict[str, Any]]:
    """``path``'s name, size, modification time and SHA-256 (0.44 s for 100 MB, measured).

    ``before`` is its stat when it was read: a file changed since (size or time) is another
    file, and None is returned (no input known, so the remaining file never stands in for one).
    The hash is of every byte: a first/last MiB would take a file edited in its middle, same
    size, time preserved, for the old one; and it is only computed when rows are left.
    """
    try:
        now = path.stat()
        if before is not None and (now.st_size, now.st_mtime_ns) != (
            before.st_size,
            before.st_mtime_ns,
        ):
            return None
        return {
            "name": path.name,
            "size": now.st_size,
            "mtime_ns": now.st_mtime_ns,
            "sha256": _sha256(path),
        }
    except OSError:
        return None


def same_input(source: Optional[dict[str, Any]], path: Path) -> bool:
    """Whether ``path`` holds the bytes the recorded ``source`` had (name, size, SHA-256).

    Not its time: a file touched, or copied back with ``cp``, holds the same rows.
    """
    if not source:
        return False
    try:
        if source.get("name") != path.name or source.get("size") != path.stat().st_size:
            return False
        return bool(source.get("sha256") == _sha256(path))
    except OSError:
        return False


def same_tenant(recorded: Optional[str], base_url: Optional[str]) -> bool:
    """Whether ``base_url`` is the tenant a record's rows were for (unknown: taken as it).

    A trailing ``/`` is the same URL; anything else is another tenant (or another server).
    """
    if recorded is None or base_url is None:
        return True
    return recorded.rstrip("/") == base_url.rstrip("/")


def _spelled_schema(schema: Optional[dict[str, Any]]) -> dict[str, str]:
    """``schema=`` as text: a pyarrow or polars type by its ``schema=`` name."""
    return {
        name: kind if isinstance(kind, str) else resolve_type(name, kind).name
        for name, kind in (schema or {}).items()
    }


def _clear_list(clear: Any) -> list[str]:
    return [clear] if isinstance(clear, str) else list(clear or [])


def _options(target: Optional[str], schema: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The recorded form: every option of :data:`_DEFAULTS`, as JSON holds it."""
    out = {name: options.get(name, default) for name, default in _DEFAULTS.items()}
    out["to"] = target if target is not None else options.get("to")
    out["schema"] = _spelled_schema(schema)
    out["clear"] = _clear_list(options.get("clear"))
    out["strict"] = bool(out["strict"])
    return out


def record(
    remaining: Path,
    target: Optional[str],
    schema: Any,
    options: dict[str, Any],
    types: Optional[dict[str, str]] = None,
    source: Optional[dict[str, Any]] = None,
    *,
    rows: Optional[int] = None,
    base_url: Optional[str] = None,
    changed: bool = False,
) -> Path:
    """Writes the options ``remaining`` was left with (``target``: the endpoint pushed to).

    ``source`` identifies the input its rows came from (:func:`identify`). ``types`` are the
    types its rows were read with that the file cannot say itself (a CSV's text columns): a
    push of it reads them so whatever its options (see :func:`check_options`). ``rows`` and
    ``base_url`` (the tenant) are for messages; ``changed``: the input changed while it was
    pushed (see :class:`Record`). ``remaining``'s own size and SHA-256 are
    recorded too: the record is its only while it holds those bytes (see :func:`load`).
    Written to a temporary name and renamed, so a stopped write never leaves half a record.
    """
    path = record_path(remaining)
    own = identify(remaining)
    text = json.dumps(
        {
            "kind": _KIND,
            "version": _VERSION,
            "options": _options(target, schema, options),
            "types": types or {},
            "source": source,
            "rows": rows,
            "base_url": base_url,
            "changed": changed,
            # Extra keys: a record of version 2 without them is still read, and read by an
            # older converz.
            "file": None if own is None else {"size": own["size"], "sha256": own["sha256"]},
        },
        indent=1,
    )
    tmp = path.with_name(f".{path.name}.converz-tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def forget(remaining: Path) -> None:
    """Removes the record of ``remaining`` (its rows are applied, or it was removed)."""
    record_path(remaining).unlink(missing_ok=True)


def _corrupt(remaining: Path, path: Path, problem: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"cannot read the push options recorded for {remaining} in {path}: {problem}",
        parameter="path",
        hint=f"move {path} aside, then run the resume hint printed when {remaining} was "
        "written, as printed: it repeats every option and the --schema its rows were read "
        "with (without them a CSV's 00050 is read as the number 50); the file is then pushed "
        "as an ordinary file and kept. Nothing was sent",
    )


def load(remaining: Path) -> Optional[Record]:
    """The record of ``remaining``, None when the file is not converz's (see :func:`not_ours`).

    Raises:
        InvalidParameterError: A converz record (its ``kind`` says so) whose options are not
            as written, or that cannot be read; types that are not a mapping are read as none,
            a source that is not one as unknown.
    """
    return _read(remaining)[0]


def not_ours(remaining: Path) -> Optional[str]:
    """Why ``remaining`` is not a remaining file converz wrote, or None when it is one.

    Said neutrally, for a note: the file may well be the user's own.

    Raises:
        InvalidParameterError: As :func:`load`.
    """
    return _read(remaining)[1]


def _read(remaining: Path) -> tuple[Optional[Record], Optional[str]]:
    """The record of ``remaining`` and None, or None and why the file is not converz's."""
    path = record_path(remaining)
    foreign = f"{path.name} beside it is not a record converz wrote"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, f"it has no converz record beside it ({path.name})"
    except UnicodeDecodeError:
        return None, foreign
    except OSError as err:
        raise _corrupt(remaining, path, str(err)) from err
    try:
        data = json.loads(text)
    except ValueError as err:
        # converz renames its record into place whole, but a copy can be cut short: one that
        # names its kind is converz's, damaged (its options are not to be guessed); any other
        # text is the user's.
        if _KIND[:7] in text:
            raise _corrupt(remaining, path, str(err)) from err
        return None, foreign
    options = data.get("options") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("kind") != _KIND:
        return None, foreign
    if not isinstance(options, dict):
        raise _corrupt(remaining, path, "it has no options")
    if data.get("version") not in _READ_VERSIONS:
        raise _corrupt(remaining, path, f"version {data.get('version')!r}, not {_VERSION}")
    out = {**_DEFAULTS, **options}
    shapes: dict[str, Any] = {
        "to": (str, type(None)),
        "schema": dict,
        "clear": list,
        "timezone": (str, type(None)),
        "on_duplicate": str,
        "strict": bool,
        "chunk_rows": int,
    }
    for name, shape in shapes.items():
        if not isinstance(out[name], shape):
            raise _corrupt(remaining, path, f"{name} is {out[name]!r}")
    try:
        check_schema(out["schema"])
    except InvalidParameterError as err:
        raise _corrupt(remaining, path, f"schema: {err.message}") from err
    if not _holds(data.get("file"), remaining):
        return None, (
            f"{path.name} beside it is converz's record of other bytes (the file was changed "
            "or replaced since converz wrote it)"
        )
    types = data.get("types")
    if not isinstance(types, dict):
        types = {}
    source = data.get("source")
    rows = data.get("rows")
    base_url = data.get("base_url")
    found = Record(
        out,
        {str(name): str(kind) for name, kind in types.items()},
        source if isinstance(source, dict) else None,
        rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
        base_url if isinstance(base_url, str) else None,
        data.get("changed") is True,
    )
    return found, None


def _holds(recorded: Any, remaining: Path) -> bool:
    """Whether ``remaining`` holds the bytes its record was written for.

    A record without them (written by an older converz, or beside a file that could not be
    hashed) is taken for the file's, as before they were recorded.
    """
    if not isinstance(recorded, dict) or "sha256" not in recorded:
        return True
    try:
        if recorded.get("size") != remaining.stat().st_size:
            return False
        return bool(recorded["sha256"] == _sha256(remaining))
    except OSError:
        return False


def _differences(found: Record, given: dict[str, Any]) -> list[str]:
    """Each compared option whose given value would send other values, said both ways."""
    recorded = found.options
    out = []
    for name in _COMPARED:
        left, now = recorded[name], given[name]
        if name == "to":
            # None infers the endpoint from the key column: the same file gives the same one.
            same = now is None or now == left
        elif name == "schema":
            # The rows are read with the recorded types under either: a schema that repeats
            # them (as the resume hint does) reads the same values.
            same = text_as_one(check_schema({**found.types, **left})) == text_as_one(
                check_schema({**found.types, **now})
            )
        elif name == "clear":
            same = set(left) == set(now)
        else:
            same = left == now
        if not same:
            out.append(f"{name} (left with {left!r}, given {now!r})")
    return out


# The core's text types: each reads and sends a CSV's or NDJSON's text as it is written.
_TEXT_TYPES = ("Utf8", "LargeUtf8", "Utf8View")


def text_as_one(schema: dict[str, str]) -> dict[str, str]:
    """``schema`` (core names) with every text type as one: they read and send the same text.

    Outside trial 16: a resume given ``large_string`` where ``string`` was recorded was refused
    as sending "other values". A file's rows are read so too: the core's CSV reader takes only
    ``Utf8`` (``large_string`` was "Unsupported data type LargeUtf8").
    """
    return {name: "Utf8" if kind in _TEXT_TYPES else kind for name, kind in schema.items()}


def check_options(path: Path, schema: Any, options: dict[str, Any]) -> Optional[Record]:
    """Refuses, before any request, a push of a remaining file with options other than its own.

    Args:
        path: The file to push; only a ``NAME.remaining.EXT`` with a record is checked.
        schema: The push's ``schema=``.
        options: The push's keyword arguments.

    Returns:
        The record when ``path`` is a remaining file converz wrote, else None (an ordinary
        file, whatever its name). Its types are those its rows were read with: a CSV column
        that was text because of a row already applied (``abc`` beside ``00002``) would be
        inferred afresh as numbers, so the push reads it as recorded, and a retry with the
        original options (an Airflow task's) sends what the first push would have.

    Raises:
        InvalidParameterError: The record is not readable, or an option that changes what is
            sent differs from it; the message names each such option, the hint gives the
            command with the recorded ones.
    """
    from converz._cli import in_bash, python_call, resume_command

    if not path.stem.endswith(".remaining") or not path.is_file():
        return None
    found = load(path)
    if found is None:
        return None
    differ = _differences(found, _options(None, schema, options))
    if not differ:
        return found
    schema_needed = found.read_schema()
    url, old = found.base_url, found.changed
    command = resume_command(path, schema_needed, found.options, base_url=url, force_old=old)
    call = python_call(path, schema_needed, found.options, base_url=url, force_old=old)
    raise InvalidParameterError(
        f"{path} was left by a push with other options, and would send other values with "
        f"these: {'; '.join(differ)}",
        parameter="options",
        hint=f"push it with the options it was left with{in_bash(command)}: {command} (in "
        f"Python: {call}; the Airflow operator takes the same keywords); nothing was sent",
    )
