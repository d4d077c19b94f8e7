"""A local Converz server for tests, demos and notebooks.

The emulator is a real HTTP server (Rust, on loopback) implementing the Converz Data API over a
deterministic synthetic tenant, with faults on demand. See ``docs/emulator.md``.

Example:
    >>> from converz.testing import Emulator
    >>> with Emulator(calls=1_000, reps=20, seed=0) as emu:
    ...     client = emu.client(progress=False)
    ...     len(client.calls())
    1000
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import TYPE_CHECKING, Any, Optional, Union

from converz import _core
from converz._args import check_int, wrong_type
from converz.testing._faults import Faults

if TYPE_CHECKING:
    from converz import Client

__all__ = ["Emulator", "Faults"]


class Emulator:
    """A running emulated Converz tenant on loopback; also a context manager.

    Args:
        calls: Conversations to generate.
        reps: Users to generate.
        seed: Seed of the data and of fault decisions (same seed, same tenant).
        port: Port to listen on; 0 picks a free one.
        api_key: The key clients must send; None uses ``"converz-emulator-key"``.
        today: Last day of data and the API's "today"; None is 2025-09-30.
        days: Days of data ending ``today``.
        **faults: Fault settings by name (``error_rate=0.1``, ``page_cap=500``, ...); see
            :class:`Faults` for each one and its default. An unknown name is a ``TypeError``.
    """

    def __init__(
        self,
        *,
        calls: int = 100_000,
        reps: int = 200,
        seed: int = 0,
        port: int = 0,
        api_key: Optional[str] = None,
        today: Optional[Union[_dt.date, str]] = None,
        days: int = 365,
        **faults: Any,
    ) -> None:
        # Checked here, by name: the core's refusal said "failed to extract field
        # EmulatorSettings.calls" (outside trial 52 F3).
        if api_key is not None and not isinstance(api_key, str):
            raise wrong_type("api_key", "a str or None", api_key)
        if today is not None and not isinstance(today, (str, _dt.date)):
            raise wrong_type("today", "a date, an ISO date string or None", today)
        # The process the server runs in: a forked child has a copy of this object, whose
        # changes that server never sees.
        self._pid = os.getpid()
        self._raw = _core.Emulator(
            {
                "calls": check_int("calls", calls),
                "reps": check_int("reps", reps),
                "seed": check_int("seed", seed),
                "host": "127.0.0.1",
                "port": check_int("port", port),
                "api_key": api_key,
                "today": today,
                "days": check_int("days", days),
                "faults": Faults(**faults),
            }
        )

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:PORT/api/v1``."""
        return str(self._raw.url)

    @property
    def api_key(self) -> str:
        """The key clients must send."""
        return str(self._raw.api_key)

    def client(self, **kwargs: Any) -> Client:
        """A :class:`converz.Client` for this emulator; keyword arguments go to the client.

        ``api_key`` and ``base_url`` default to the emulator's and may be given, e.g. a wrong
        key to see the ``AuthenticationError``. The client keeps the emulator running while it
        lives, so ``client = Emulator(calls=100).client()`` works on one line (else the
        emulator would be collected at once and every call would fail with "connection
        refused"). ``stop()`` still stops it.

        Example:
            >>> with Emulator(calls=10, reps=2) as emu:  # doctest: +SKIP
            ...     emu.client(api_key="wrong").reps()
            Traceback (most recent call last):
            converz.exceptions.AuthenticationError: ...
        """
        from converz import Client

        kwargs.setdefault("base_url", self.url)
        kwargs.setdefault("api_key", self.api_key)
        client = Client(**kwargs)
        client._keep_alive = self
        return client

    def set_faults(self, **faults: Any) -> None:
        """Replace the fault settings (see :class:`Faults`; unnamed ones turn off).

        Raises:
            RuntimeError: Called in a process forked after the emulator started: its server
                runs in the parent, which this call cannot reach (it would return as if the
                faults were on).
        """
        self._check_process("set_faults")
        self._raw.set_faults(Faults(**faults))

    def _check_process(self, what: str) -> None:
        if os.getpid() != self._pid:
            raise RuntimeError(
                f"Emulator.{what}() in a forked process: this emulator's server runs in "
                f"process {self._pid}, which a forked child cannot reach, so call it there "
                "(before forking), or start an Emulator in this process"
            )

    def wire_stats(self) -> dict[str, int]:
        """What the server has sent so far, as it went on the wire.

        Returns:
            ``responses`` (every answer), ``gzip_responses`` (those sent with
            ``Content-Encoding: gzip``) and ``body_bytes`` (response bodies as sent: after
            gzip, before HTTP framing).

        Raises:
            RuntimeError: The emulator is stopped.
        """
        self._check_process("wire_stats")
        responses, gzip_responses, body_bytes = self._raw.wire_stats()
        return {
            "responses": responses,
            "gzip_responses": gzip_responses,
            "body_bytes": body_bytes,
        }

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        self._raw.stop()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._raw.running else "stopped"
        return f"converz.testing.Emulator(url={self.url!r}, {state})"
