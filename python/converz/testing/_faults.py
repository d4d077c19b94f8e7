"""The emulator's fault settings: one place for their names, defaults and meaning."""

from __future__ import annotations

import dataclasses
from typing import Optional

from converz._args import check_flag, check_int, check_number
from converz._core import check_faults


@dataclasses.dataclass(frozen=True)
class Faults:
    """What the emulator gets wrong on purpose; every fault is off by default.

    Decisions are drawn from the emulator's seed, so a run with faults is reproducible.

    Args:
        error_rate: Fraction of requests answered 500/503.
        rate_limit_rate: Fraction of requests answered 429.
        retry_after: ``Retry-After`` seconds on 429s; None sends no header.
        latency: Seconds before every answer starts (WAN round trip; before the first byte).
        bandwidth: Bytes per second that all response bodies share, as sent (after gzip when
            the client asked for it); None is unlimited. With ``latency``, a WAN profile.
        drop_rate: Fraction of GET bodies cut off mid-way (connection dropped).
        page_cap: Silently serve at most this many rows per page; None or 0 is no cap.
        insert_every: Every N-th ``GET /calls``, insert calls early in the order (rows shift);
            None or 0 is never.
        html_errors: 5xx bodies are HTML pages instead of JSON.

    Example:
        >>> from converz.testing import Emulator, Faults
        >>> Faults(error_rate=0.1).retry_after
        1.0
        >>> with Emulator(calls=100, reps=5, error_rate=0.1) as emu:
        ...     emu.set_faults(page_cap=30)
        >>> wan = Faults(latency=0.04, bandwidth=50e6)  # 40 ms, 50 MB/s shared
    """

    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: Optional[float] = 1.0
    latency: float = 0.0
    bandwidth: Optional[float] = None
    drop_rate: float = 0.0
    page_cap: Optional[int] = None
    insert_every: Optional[int] = None
    html_errors: bool = False

    def __post_init__(self) -> None:
        """Checks each setting's type and range, and keeps it as a plain Python value.

        The core's refusal named no fault (outside trial 52 F3: ``html_errors="yes"`` said
        "failed to extract field EmulatorSettings.faults").
        """
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            optional = "Optional" in str(field.type)
            if "bool" in str(field.type):
                check_flag(field.name, value, optional=optional)
                plain: object = bool(value)
            elif "int" in str(field.type):
                plain = check_int(field.name, value, optional=optional)
            else:
                plain = check_number(field.name, value, optional=optional)
            # As plain Python values, which the core reads (a numpy scalar it would not).
            object.__setattr__(self, field.name, plain)
        # Ranges as an emulator checks them on taking these, by the same check: a rate of 5
        # was accepted here and refused first where the faults were used.
        check_faults(self)
