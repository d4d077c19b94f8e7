"""converz: the Converz Data API into polars, pandas, pyarrow and DuckDB, fast and lossless.

Example:
    >>> import converz
    >>> client = converz.Client(tenant="acme", api_key="...")
    >>> calls = client.calls(start_date="2025-07-01", end_date="2025-09-30")  # doctest: +SKIP
    >>> df = calls.to_polars()  # doctest: +SKIP
"""

from converz._client import Client, Frame
from converz._core import __version__, build_profile
from converz._push import ChunkResult, PushResult
from converz._query import (
    CallsFilters,
    CallsQuery,
    ReportFilters,
    ReportQuery,
    RepsFilters,
    RepsQuery,
)
from converz._sync import SyncResult
from converz._table import Table, TableStream
from converz.exceptions import (
    APIError,
    AuthenticationError,
    ConverzError,
    DecodeError,
    InvalidParameterError,
    InvalidParameterTypeError,
    InvalidRequestError,
    PushError,
    RateLimitError,
    ServerError,
    StreamError,
    TransportError,
)

__all__ = [
    "APIError",
    "AuthenticationError",
    "CallsFilters",
    "CallsQuery",
    "ChunkResult",
    "Client",
    "ConverzError",
    "DecodeError",
    "Frame",
    "InvalidParameterError",
    "InvalidParameterTypeError",
    "InvalidRequestError",
    "PushError",
    "PushResult",
    "RateLimitError",
    "ReportFilters",
    "ReportQuery",
    "RepsFilters",
    "RepsQuery",
    "ServerError",
    "StreamError",
    "SyncResult",
    "Table",
    "TableStream",
    "TransportError",
    "__version__",
    "build_profile",
]
