"""Command line: ``converz emulator [options]`` (also ``python -m converz emulator``)."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Optional


def _emulator(args: argparse.Namespace) -> int:
    from converz.testing import Emulator, Faults

    if args.no_retry_after:
        args.retry_after = None
    faults = {field.name: getattr(args, field.name) for field in dataclasses.fields(Faults)}
    emu = Emulator(
        calls=args.calls,
        reps=args.reps,
        seed=args.seed,
        port=args.port,
        api_key=args.api_key,
        days=args.days,
        **faults,
    )
    print(f"Converz emulator serving {args.calls:,} calls and {args.reps:,} reps")
    print(f"  CONVERZ_BASE_URL={emu.url}")
    print(f"  CONVERZ_API_KEY={emu.api_key}")
    print("Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    # Handled explicitly: a shell without job control starts background commands with SIGINT
    # ignored, and Python then never raises KeyboardInterrupt.
    for name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, name), lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    emu.stop()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``converz`` command."""
    parser = argparse.ArgumentParser(prog="converz", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    emu = commands.add_parser("emulator", help="serve an emulated Converz tenant on loopback")
    emu.add_argument("--port", type=int, default=8080)
    emu.add_argument("--calls", type=int, default=100_000)
    emu.add_argument("--reps", type=int, default=200)
    emu.add_argument("--seed", type=int, default=0)
    emu.add_argument("--days", type=int, default=365)
    emu.add_argument("--api-key", default=None)
    emu.add_argument("--error-rate", type=float, default=0.0)
    emu.add_argument("--rate-limit-rate", type=float, default=0.0)
    emu.add_argument("--retry-after", type=float, default=1.0)
    emu.add_argument("--no-retry-after", action="store_true", help="send 429s without Retry-After")
    emu.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    emu.add_argument("--drop-rate", type=float, default=0.0)
    emu.add_argument("--page-cap", type=int, default=None)
    emu.add_argument("--insert-every", type=int, default=None)
    emu.add_argument("--html-errors", action="store_true")
    emu.set_defaults(run=_emulator)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
