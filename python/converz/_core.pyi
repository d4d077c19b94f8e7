"""Stubs for the native module `converz._core`. The public API is documented in `converz`."""

from collections.abc import Iterator, Sequence
from typing import Any, Callable, Final, Literal, Optional, TypedDict, Union, final, overload

from typing_extensions import Unpack

from converz.testing._faults import Faults

__version__: Final[str]
build_profile: Final[Literal["debug", "release"]]

_Date = Any  # datetime.date | datetime.datetime | str
_Strs = Union[str, Sequence[str]]
_Ids = Union[str, int, Sequence[Union[str, int]]]
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

# --- reps and calls: filters listed once, for both the table and the stream overloads ---
class _RepsQuery(TypedDict, total=False):
    rep_id: Optional[_Strs]
    department: Optional[_Strs]
    active: Optional[int]
    page_size: Optional[int]
    parse_dates: bool
    schema: Optional[dict[str, Any]]
    progress: _Progress

class _CallsQuery(TypedDict, total=False):
    start_date: Optional[_Date]
    end_date: Optional[_Date]
    after: Optional[_Date]
    before: Optional[_Date]
    metric: Optional[_Strs]
    rep_id: Optional[_Strs]
    vendor: Optional[_Strs]
    campaign: Optional[_Strs]
    subcampaign: Optional[_Strs]
    department: Optional[_Strs]
    vendor_call_id: Optional[_Ids]
    columns: Optional[_Strs]
    page_size: Optional[int]
    parse_dates: bool
    schema: Optional[dict[str, Any]]
    progress: _Progress

@overload
def reps(
    client: RawClient, *, stream: Literal[False] = False, **query: Unpack[_RepsQuery]
) -> tuple[ArrowTable, list[str]]: ...
@overload
def reps(
    client: RawClient, *, stream: Literal[True], **query: Unpack[_RepsQuery]
) -> BatchStream: ...
@overload
def calls(
    client: RawClient, *, stream: Literal[False] = False, **query: Unpack[_CallsQuery]
) -> tuple[ArrowTable, list[str]]: ...
@overload
def calls(
    client: RawClient, *, stream: Literal[True], **query: Unpack[_CallsQuery]
) -> BatchStream: ...

# --- report ---
def report(
    client: RawClient,
    *,
    start_date: Optional[_Date] = None,
    end_date: Optional[_Date] = None,
    days: Optional[int] = None,
    metric: Optional[_Strs] = None,
    groupby: Optional[_Strs] = None,
    rep_id: Optional[_Strs] = None,
    vendor: Optional[_Strs] = None,
    campaign: Optional[_Strs] = None,
    subcampaign: Optional[_Strs] = None,
    department: Optional[_Strs] = None,
    parse_dates: bool = True,
    schema: Optional[dict[str, Any]] = None,
) -> tuple[ArrowTable, list[str]]: ...

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
