"""Stubs for the native module `converz._core`. The public API is documented in `converz`."""

from typing import Final

__version__: Final[str]
build_profile: Final[str]
