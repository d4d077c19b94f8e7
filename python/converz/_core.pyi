"""Stubs for the native module `converz._core`. The public API is documented in `converz`."""

from collections.abc import Iterator, Sequence
from typing import Any, Callable, Final, Literal, Optional, Union, final

from converz._query import _Query
from converz.testing._faults import Faults

__version__: Final[str]
build_profile: Final[Literal["debug", "release"]]

_Date = Any  # datetime.date | datetime.datetime | str
_AnyQuery = _Query  # CallsQuery, RepsQuery or ReportQuery
_Progress = Optional[Callable[[int, int, int, int], None]]

@final
class RawClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 300.0,
        connect_timeout: float = 10.0,
        retries: int = 8,
        backoff: float = 0.1,
        max_concurrency: int = 4,
    ) -> None: ...
    @property
    def base_url(self) -> str: ...
    @property
    def max_concurrency(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...

@final
class ArrowTable:
    @property
    def num_rows(self) -> int: ...
    def column_types(self) -> list[tuple[str, str]]: ...
    def __len__(self) -> int: ...
    def __arrow_c_schema__(self) -> object: ...
    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...

@final
class BatchStream:
    def __iter__(self) -> Iterator[ArrowTable]: ...
    def __next__(self) -> ArrowTable: ...
    @property
    def warnings(self) -> list[str]: ...

# --- reads: one function for every query value ---
# Every key present: page_size, parse_dates, schema, stream, progress.
_FetchOptions = dict[str, Any]

def check_query(query: _AnyQuery) -> None: ...
def normalize_date(name: str, value: object) -> str: ...
def normalize_datetime(name: str, value: object) -> str: ...
def fetch(
    client: RawClient, query: _AnyQuery, options: _FetchOptions
) -> Union[tuple[ArrowTable, list[str]], BatchStream]: ...

# --- push ---
def push(
    client: RawClient,
    data: object,
    *,
    to: Optional[Literal["calls", "reps"]] = None,
    clear: Sequence[str] = ...,
    chunk_rows: int = 100_000,
    on_duplicate: Literal["error", "last"] = "error",
    timezone: Optional[str] = None,
    dry_run: bool = False,
    progress: _Progress = None,
) -> dict[str, Any]: ...

# --- emulator ---
@final
class Emulator:
    def __init__(
        self,
        *,
        calls: int = 100_000,
        reps: int = 200,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: Optional[str] = None,
        today: Optional[_Date] = None,
        days: int = 365,
        faults: Faults = ...,
    ) -> None: ...
    @property
    def url(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def running(self) -> bool: ...
    def set_faults(self, faults: Faults) -> None: ...
    def stop(self) -> None: ...

# File writers and sync helpers (src/python/write.rs).

_ArrowData = Any  # any Arrow PyCapsule exporter (__arrow_c_stream__ / __arrow_c_array__)

@final
class FileWriter:
    def __init__(
        self, path: str, format: Optional[Literal["parquet", "ipc", "csv", "ndjson"]] = None
    ) -> None: ...
    def write(self, data: _ArrowData) -> None: ...
    @property
    def rows(self) -> int: ...
    def finish(self, empty: Optional[_ArrowData] = None) -> tuple[int, int]: ...
    def abort(self) -> None: ...

def read_file(path: str) -> ArrowTable: ...
def csv_bytes(data: _ArrowData, columns: Optional[list[str]] = None) -> bytes: ...
def split_days(
    data: _ArrowData, date_column: str, time_column: str, drop_date: bool = True
) -> tuple[list[tuple[int, ArrowTable]], Optional[int]]: ...
def conform_days(
    days: list[tuple[list[str], str]], existing: list[tuple[str, str]]
) -> tuple[list[int], list[str]]: ...
def read_parquet_files(paths: list[str]) -> ArrowTable: ...
