"""Counts said in words, for reprs, progress lines and messages: ``1 row``, ``2,000 rows``."""

from __future__ import annotations

from typing import Optional


def count(n: int, noun: str, plural: Optional[str] = None) -> str:
    """``n`` (with thousands separators) and ``noun``, plural unless ``n`` is 1.

    ``plural`` defaults to ``noun`` + "s".

    Example:
        >>> count(1, "page"), count(2000, "row"), count(3, "retry", "retries")
        ('1 page', '2,000 rows', '3 retries')
    """
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
