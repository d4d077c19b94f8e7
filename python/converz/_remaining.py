"""The options a stopped push's ``NAME.remaining.EXT`` was left with, kept beside it.

The file holds the rows not applied; how they are to be sent is in the push's options: nulls
that clear (``--clear``), a CSV's ``00123`` kept as text (``--schema``), times converted from
the tenant's zone (``--timezone``). The resume hint repeats them, but a file pushed by hand, or
by an Airflow task whose options were edited since, may be pushed without them, and then sends
other values. So ``NAME.remaining.EXT.json`` records them when the file is written (one way for
every format), a push of the file compares its own options with them before any request, and
the record is removed with the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from converz._schema_types import check_schema, resolve_type
from converz.exceptions import InvalidParameterError

__all__ = ["check_options", "forget", "record", "record_path", "types_of"]

_KIND = "converz push options"
_VERSION = 1
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
) -> Path:
    """Writes the options ``remaining`` was left with (``target``: the endpoint pushed to).

    ``types`` are the types its rows were read with that the file cannot say itself (a CSV's
    text columns): a push of it reads them so whatever its options (see :func:`types_of`).
    Written to a temporary name and renamed, so a stopped write never leaves half a record.
    """
    path = record_path(remaining)
    text = json.dumps(
        {
            "kind": _KIND,
            "version": _VERSION,
            "options": _options(target, schema, options),
            "types": types or {},
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
        hint=f"push {remaining} with the options of the push that left it (its resume hint "
        f"spells them), after removing {path}; nothing was sent",
    )


def _recorded(remaining: Path) -> Optional[dict[str, Any]]:
    """The recorded options, None when there is no record; a record not as written refused."""
    path = record_path(remaining)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise _corrupt(remaining, path, str(err)) from err
    options = data.get("options") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("kind") != _KIND or not isinstance(options, dict):
        raise _corrupt(remaining, path, "not a record converz wrote")
    if data.get("version") != _VERSION:
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
    return out


def types_of(remaining: Path) -> dict[str, str]:
    """The types ``remaining``'s rows were read with, as recorded; none without a record.

    A CSV column that was text because of a row already applied (``abc`` beside ``00002``)
    would be inferred afresh as numbers: the push reads it as recorded instead, so a retry
    with the original options (an Airflow task's) sends what the first push would have.
    """
    if not remaining.stem.endswith(".remaining"):
        return {}
    try:
        data = json.loads(record_path(remaining).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}  # no record, or a corrupt one, which check_options refuses
    types = data.get("types") if isinstance(data, dict) else None
    if not isinstance(types, dict):
        return {}
    return {str(name): str(kind) for name, kind in types.items()}


def _differences(recorded: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """Each compared option whose given value would send other values, said both ways."""
    out = []
    for name in _COMPARED:
        left, now = recorded[name], given[name]
        if name == "to":
            # None infers the endpoint from the key column: the same file gives the same one.
            same = now is None or now == left
        elif name == "schema":
            same = check_schema(left) == check_schema(now)
        elif name == "clear":
            same = set(left) == set(now)
        else:
            same = left == now
        if not same:
            out.append(f"{name} (left with {left!r}, given {now!r})")
    return out


def _keywords(options: dict[str, Any]) -> str:
    """The recorded options as keyword arguments (of push_file, the Airflow operator)."""
    words = []
    for name, default in _DEFAULTS.items():
        value = options[name]
        if value != default:
            words.append(f"{name}={value!r}")
    return ", ".join(words) or "no options"


def check_options(path: Path, schema: Any, options: dict[str, Any]) -> None:
    """Refuses, before any request, a push of a remaining file with options other than its own.

    Args:
        path: The file to push; only a ``NAME.remaining.EXT`` with a record is checked.
        schema: The push's ``schema=``.
        options: The push's keyword arguments.

    Raises:
        InvalidParameterError: The record is not readable, or an option that changes what is
            sent differs from it; the message names each such option, the hint gives the
            command with the recorded options.
    """
    from converz._cli import resume_command

    if not path.stem.endswith(".remaining") or not path.is_file():
        return
    recorded = _recorded(path)
    if recorded is None:
        return
    differ = _differences(recorded, _options(None, schema, options))
    if not differ:
        return
    command = resume_command(path, recorded["schema"], recorded)
    raise InvalidParameterError(
        f"{path} was left by a push with other options, and would send other values with "
        f"these: {'; '.join(differ)}",
        parameter="options",
        hint=f"push it with the options it was left with: {command} (in Python or the Airflow "
        f"operator: {_keywords(recorded)}); nothing was sent",
    )
