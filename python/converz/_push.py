"""`PushResult` and `ChunkResult`: what a push did, chunk by chunk, and what is left to send.

Both are built in Rust (``converz._core``, ``src/python/push_result.rs``) as immutable
objects; this module only gives them their public home.

Example:
    >>> res = client.push_updates(df)  # doctest: +SKIP
    >>> res.updated, res.not_found  # doctest: +SKIP
    (1000, [])
    >>> print(res.report())  # doctest: +SKIP
"""

from __future__ import annotations

from converz._core import ChunkResult, PushResult

__all__ = ["ChunkResult", "PushResult"]
