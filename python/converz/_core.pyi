"""Stubs for the native module `converz._core`. The public API is documented in `converz`."""

from collections.abc import Iterator, Sequence
from typing import Any, Callable, Final, Literal, Optional, Union, final, overload

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

# --- reps ---
@overload
def reps(
    client: RawClient,
    *,
    rep_id: Optional[_Strs] = None,
    department: Optional[_Strs] = None,
    active: Optional[int] = None,
    page_size: Optional[int] = None,
    parse_dates: bool = True,
    schema: Optional[dict[str, Any]] = None,
    stream: Literal[False] = False,
    progress: _Progress = None,
) -> tuple[ArrowTable, list[str]]: ...
@overload
def reps(
    client: RawClient,
    *,
    rep_id: Optional[_Strs] = None,
    department: Optional[_Strs] = None,
    active: Optional[int] = None,
    page_size: Optional[int] = None,
    parse_dates: bool = True,
    schema: Optional[dict[str, Any]] = None,
    stream: Literal[True],
    progress: _Progress = None,
) -> BatchStream: ...

# --- calls ---
@overload
def calls(
    client: RawClient,
    *,
    start_date: Optional[_Date] = None,
    end_date: Optional[_Date] = None,
    after: Optional[_Date] = None,
    before: Optional[_Date] = None,
    metric: Optional[_Strs] = None,
    rep_id: Optional[_Strs] = None,
    vendor: Optional[_Strs] = None,
    campaign: Optional[_Strs] = None,
    subcampaign: Optional[_Strs] = None,
    department: Optional[_Strs] = None,
    vendor_call_id: Optional[_Ids] = None,
    columns: Optional[_Strs] = None,
    page_size: Optional[int] = None,
    parse_dates: bool = True,
    schema: Optional[dict[str, Any]] = None,
    stream: Literal[False] = False,
    progress: _Progress = None,
) -> tuple[ArrowTable, list[str]]: ...
@overload
def calls(
    client: RawClient,
    *,
    start_date: Optional[_Date] = None,
    end_date: Optional[_Date] = None,
    after: Optional[_Date] = None,
    before: Optional[_Date] = None,
    metric: Optional[_Strs] = None,
    rep_id: Optional[_Strs] = None,
    vendor: Optional[_Strs] = None,
    campaign: Optional[_Strs] = None,
    subcampaign: Optional[_Strs] = None,
    department: Optional[_Strs] = None,
    vendor_call_id: Optional[_Ids] = None,
    columns: Optional[_Strs] = None,
    page_size: Optional[int] = None,
    parse_dates: bool = True,
    schema: Optional[dict[str, Any]] = None,
    stream: Literal[True],
    progress: _Progress = None,
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
