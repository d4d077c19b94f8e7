"""Command line: ``converz emulator|fetch|push|sync ...`` (also ``python -m converz ...``)."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import textwrap
import threading
from collections.abc import Sequence
from typing import Optional

from converz._cli import add_commands


def _emulator(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from converz.exceptions import InvalidParameterError
    from converz.testing import Emulator, Faults

    if args.no_retry_after:
        args.retry_after = None
    faults = {field.name: getattr(args, field.name) for field in dataclasses.fields(Faults)}
    try:
        emu = Emulator(
            calls=args.calls,
            reps=args.reps,
            seed=args.seed,
            port=args.port,
            api_key=args.api_key,
            today=args.today,
            days=args.days,
            **faults,
        )
    except InvalidParameterError as err:
        # A usage error, not a crash: argparse's message and exit status 2, naming the flag.
        flag = f"--{err.parameter.replace('_', '-')}: " if err.parameter else ""
        parser.error(f"{flag}{err}")
    stop = threading.Event()
    # Handled explicitly: a shell without job control starts background commands with SIGINT
    # ignored, and Python then never raises KeyboardInterrupt. Set before the lines below, so
    # a caller that signals as soon as it has read them stops the server cleanly.
    for name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, name), lambda *_: stop.set())
    print(f"Converz emulator serving {args.calls:,} calls and {args.reps:,} reps")
    print(f"  CONVERZ_BASE_URL={emu.url}")
    print(f"  CONVERZ_API_KEY={emu.api_key}")
    print("Ctrl-C to stop.", flush=True)
    while not stop.wait(0.5):
        pass
    emu.stop()
    return 0


def _field_help(doc: str) -> dict[str, str]:
    """The ``Args:`` entries of a Google docstring by name, continuation lines joined."""
    section = textwrap.dedent(doc.split("Args:", 1)[-1].split("\n\n", 1)[0].strip("\n"))
    entries: dict[str, str] = {}
    name = ""
    for line in section.splitlines():
        head, sep, rest = line.partition(": ")
        if sep and not line[:1].isspace() and head.isidentifier():
            name = head
            entries[name] = rest
        elif name:
            entries[name] += " " + line.strip()
    return entries


def _add_fault_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of :class:`converz.testing.Faults`, so the two never disagree."""
    from converz.testing._faults import Faults

    helps = _field_help(Faults.__doc__ or "")
    # The flag that stands for a field's None here (a flag cannot take None).
    helps["retry_after"] = helps.get("retry_after", "").replace(
        "None sends no header", "--no-retry-after sends none"
    )
    for field in dataclasses.fields(Faults):
        flag = "--" + field.name.replace("_", "-")
        # Help is plain text: no reST literal quotes.
        description = helps.get(field.name, "").replace("``", "").replace("%", "%%")
        kind = str(field.type)
        if kind == "bool":
            parser.add_argument(flag, action="store_true", help=description)
        else:
            number = int if "int" in kind else float
            parser.add_argument(flag, type=number, default=field.default, help=description)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``converz`` command."""
    parser = argparse.ArgumentParser(prog="converz", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    emu = commands.add_parser("emulator", help="serve an emulated Converz tenant on loopback")
    emu.add_argument("--port", type=int, default=8080)
    emu.add_argument("--calls", type=int, default=100_000)
    emu.add_argument("--reps", type=int, default=200)
    emu.add_argument("--seed", type=int, default=0)
    emu.add_argument(
        "--today",
        default=None,
        help='last day of data and the API\'s "today" (YYYY-MM-DD; default 2025-09-30)',
    )
    emu.add_argument("--days", type=int, default=365, help="days of data ending --today")
    emu.add_argument("--api-key", default=None)
    _add_fault_flags(emu)
    emu.add_argument("--no-retry-after", action="store_true", help="send 429s without Retry-After")
    emu.set_defaults(run=_emulator)
    add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "emulator":
        return int(args.run(args, emu))
    return int(args.run(args))


def run() -> int:
    """The ``converz`` program: :func:`main`, then its exit status without a late signal's.

    A command stopped by Ctrl-C or SIGTERM exits 130 or 143; a second signal arriving after
    the command restored Python's handlers, as the process exits, ended it by the signal
    instead (-2 to a caller such as ``subprocess`` or Airflow; outside trial 92 F11). The
    program ignores both from then on. Not in :func:`main`, which tests call in-process.
    """
    code = main()
    if code in (130, 143) and threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM"):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    return code


if __name__ == "__main__":
    sys.exit(run())
