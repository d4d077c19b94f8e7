"""pytest plugin (entry point ``converz``): the ``converz_emulator`` fixture.

Example:
    >>> def test_my_pipeline(converz_emulator):  # doctest: +SKIP
    ...     client = converz_emulator.client()
    ...     assert len(client.reps()) == 50
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from converz.testing import Emulator


@pytest.fixture(scope="session")
def converz_emulator() -> Iterator[Emulator]:
    """A session-wide emulated tenant: 20,000 calls, 50 reps, seed 0, on loopback."""
    with Emulator(calls=20_000, reps=50, seed=0) as emu:
        yield emu
