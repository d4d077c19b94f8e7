"""converz: the Converz Data API into polars, pandas, pyarrow and DuckDB, fast and lossless.

Example:
    >>> import converz
    >>> client = converz.Client()  # reads CONVERZ_API_KEY and CONVERZ_BASE_URL
    >>> calls = client.calls(start_date="2025-07-01", end_date="2025-09-30")  # doctest: +SKIP
    >>> df = calls.to_polars()  # doctest: +SKIP
"""

from converz._core import __version__, build_profile

__all__ = ["__version__", "build_profile"]
