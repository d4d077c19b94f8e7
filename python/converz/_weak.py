"""Objects by key, held by plain weak references.

One registry serves the stream marks of tables and the streams a push has read.
"""

from __future__ import annotations

import weakref
from typing import Generic, Optional, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class WeakRegistry(Generic[K, V]):
    """Objects by key, held by weak references without callbacks.

    Dead ones are pruned as others are added. Not a ``WeakValueDictionary`` or ``WeakSet``:
    those run Python code when a referent dies, which may be inside C code, where a Ctrl-C
    handled there is lost (outside trial 50 F1).

    Example:
        >>> class Mark: ...
        >>> registry: WeakRegistry[str, Mark] = WeakRegistry()
        >>> mark = Mark()
        >>> registry.add("a", mark)
        >>> registry.get("a") is mark
        True
    """

    def __init__(self) -> None:
        self._refs: dict[K, weakref.ref[V]] = {}

    def get(self, key: K) -> Optional[V]:
        """The live object under ``key``, or None."""
        ref = self._refs.get(key)
        return None if ref is None else ref()

    def add(self, key: K, value: V) -> None:
        """Holds ``value`` under ``key``; TypeError if it cannot be weakly referenced."""
        for dead in [k for k, ref in self._refs.items() if ref() is None]:
            del self._refs[dead]
        self._refs[key] = weakref.ref(value)
