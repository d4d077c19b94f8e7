"""The soak's (and the WAN bench's) emulator, in its own process, driven over a pipe.

``converz emulator`` on the command line fixes its faults at start; the soak needs them off for
the reference reads and on for the checked ones, so it hosts ``converz.testing.Emulator`` in a
child process (spawned: nothing of the parent's runtime is inherited) and sends it commands
over a pipe. Its RSS is reported apart from the client's. The WAN bench reads from it what
went on the wire.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    from converz.testing import Emulator

    with Emulator(**options) as emu:
        conn.send((emu.url, emu.api_key))
        while True:
            command, argument = conn.recv()
            if command == "faults":
                emu.set_faults(**argument)
                conn.send(None)
            elif command == "wire":
                conn.send(emu.wire_stats())
            elif command == "rss":
                with open("/proc/self/status") as status:
                    fields = dict(line.split(":", 1) for line in status if ":" in line)
                conn.send({k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")})
            else:
                conn.send(None)
                return


class EmulatorProcess:
    """An emulator serving from a spawned child process until :meth:`stop` (or exit of a
    ``with`` block); ``set_faults`` replaces its faults as ``Emulator.set_faults`` does."""

    def __init__(self, **options: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, options), daemon=True)
        self._process.start()
        child.close()
        # Generating millions of rows takes a while; a child that died says so here.
        if not self._conn.poll(1_800):
            self.stop()
            raise RuntimeError("the emulator did not start within 30 minutes")
        self.url, self.api_key = self._conn.recv()

    def _ask(self, command: str, argument: Any = None) -> Any:
        self._conn.send((command, argument))
        return self._conn.recv()

    def set_faults(self, **faults: Any) -> None:
        self._ask("faults", faults)

    def wire_stats(self) -> dict[str, int]:
        """What the emulator has sent so far (see ``Emulator.wire_stats``)."""
        return dict(self._ask("wire"))

    @property
    def pid(self) -> int | None:
        """The emulator process's id (to read its CPU time from ``/proc``)."""
        return self._process.pid

    def rss_mb(self) -> dict[str, float]:
        """The emulator process's current and peak RSS in MB."""
        return dict(self._ask("rss"))

    def stop(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(OSError, EOFError):
                self._ask("stop")
            self._process.join(30)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
