"""`PushResult`: what a push did, chunk by chunk, and what is left to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union

from converz._table import Table

Key = Union[int, str]


@dataclass(frozen=True)
class ChunkResult:
    """One request body of a push.

    Attributes:
        index: Position in sending order.
        kind: ``"update"`` (columnar values) or ``"clear"`` (row-wise explicit nulls).
        rows: Rows in the chunk.
        first_key: Key of the first row.
        last_key: Key of the last row.
        status: ``"applied"``, ``"failed"``, ``"not_sent"`` or ``"planned"`` (dry run).
        updated: The API's ``updated`` count (applied chunks).
        not_found: Keys the API did not know (applied chunks).
        columns: Columns cleared (clear chunks).
        error: Why it failed (failed chunks).
    """

    index: int
    kind: str
    rows: int
    first_key: Key
    last_key: Key
    status: str
    updated: int = 0
    not_found: tuple[Key, ...] = ()
    columns: tuple[str, ...] = ()
    error: Optional[str] = None


@dataclass(frozen=True)
class PushResult:
    """The outcome of :meth:`converz.Client.push_updates`.

    Attributes:
        target: ``"calls"`` or ``"reps"``.
        rows: Rows sent (after ``on_duplicate="last"`` dropped earlier duplicates).
        chunks: One :class:`ChunkResult` per request body, in sending order.
        bytes: Bytes of request bodies sent (or encoded, for a dry run).
        elapsed: Seconds.
        dry_run: True when nothing was sent.
        remaining: The input rows not known to be applied, ready to push again; None when
            everything was applied.

    Example:
        >>> res = client.push_updates(df)  # doctest: +SKIP
        >>> res.updated, res.not_found  # doctest: +SKIP
        (1000, [])
    """

    target: str
    rows: int
    chunks: tuple[ChunkResult, ...]
    bytes: int
    elapsed: float
    dry_run: bool
    remaining: Optional[Table] = field(default=None, repr=False)

    @classmethod
    def _from_core(cls, raw: dict[str, Any]) -> PushResult:
        chunks = tuple(
            ChunkResult(
                index=c["index"],
                kind=c["kind"],
                rows=c["rows"],
                first_key=c["first_key"],
                last_key=c["last_key"],
                status=c["status"],
                updated=c.get("updated", 0),
                not_found=tuple(c.get("not_found", ())),
                columns=tuple(c.get("columns", ())),
                error=c.get("error"),
            )
            for c in raw["chunks"]
        )
        remaining = raw.get("remaining")
        return cls(
            target=raw["target"],
            rows=raw["rows"],
            chunks=chunks,
            bytes=raw["bytes"],
            elapsed=raw["elapsed"],
            dry_run=raw["dry_run"],
            remaining=Table(remaining) if remaining is not None else None,
        )

    @property
    def requests(self) -> int:
        """Request bodies sent (or planned, for a dry run)."""
        return sum(c.status != "not_sent" for c in self.chunks)

    @property
    def updated(self) -> int:
        """Sum of the API's ``updated`` counts over the update (not clear) chunks."""
        return sum(c.updated for c in self.chunks if c.kind == "update")

    @property
    def not_found(self) -> list[Key]:
        """Keys the API did not know; they were not created."""
        seen: dict[Key, None] = {}
        for chunk in self.chunks:
            seen.update(dict.fromkeys(chunk.not_found))
        return list(seen)

    @property
    def ok(self) -> bool:
        """True when every chunk was applied (or, for a dry run, planned)."""
        return all(c.status in ("applied", "planned") for c in self.chunks)

    @property
    def failed(self) -> list[ChunkResult]:
        """Chunks that failed or were not sent."""
        return [c for c in self.chunks if c.status in ("failed", "not_sent")]

    def report(self) -> str:
        """A text table of every chunk: kind, key range, rows and status."""
        lines = [f"{'#':>4}  {'kind':<6}  {'keys':<32}  {'rows':>7}  status"]
        for c in self.chunks:
            keys = f"{c.first_key} .. {c.last_key}"
            status = c.status + (f" ({c.error})" if c.error else "")
            lines.append(f"{c.index:>4}  {c.kind:<6}  {keys:<32}  {c.rows:>7}  {status}")
        return "\n".join(lines)

    def __str__(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        return (
            f"PushResult(to={self.target!r}: {verb} {self.rows:,} rows in {self.requests} "
            f"requests, updated={self.updated:,}, not_found={len(self.not_found)}, "
            f"failed_chunks={len(self.failed) if not self.dry_run else 0}, "
            f"elapsed={self.elapsed:.2f}s)"
        )
