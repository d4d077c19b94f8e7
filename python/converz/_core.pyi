"""Stubs for the native module `converz._core`. The public API is documented in `converz`."""

from collections.abc import Iterator, Sequence
from typing import Any, Callable, Final, Literal, Optional, TypedDict, Union, final

from converz._query import _Query
from converz._table import Table
from converz.testing._faults import Faults

__version__: Final[str]
build_profile: Final[Literal["debug", "release"]]
NOT_UNICODE: Final[str]

_Date = Any  # datetime.date | datetime.datetime | str
_AnyQuery = _Query  # CallsQuery, RepsQuery or ReportQuery
_Progress = Optional[Callable[[int, int, int, int], None]]

class _ClientSettings(TypedDict):
    base_url: str
    api_key: str
    timeout: float
    connect_timeout: float
    retries: int
    backoff: float
    max_concurrency: int
    page_size: Optional[int]
    compression: Optional[Literal["auto", "gzip"]]

@final
class RawClient:
    def __new__(cls, settings: _ClientSettings) -> RawClient: ...
    @property
    def base_url(self) -> str: ...
    @property
    def page_size(self) -> Optional[int]: ...
    @property
    def max_concurrency(self) -> int: ...
    @property
    def compression(self) -> Optional[Literal["auto", "gzip"]]: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def redacted(self, text: str) -> str: ...

@final
class ArrowTable:
    @property
    def num_rows(self) -> int: ...
    def column_types(self) -> list[tuple[str, str]]: ...
    def stored_types(self) -> list[list[str]]: ...
    def name_with_nul(self) -> Optional[tuple[str, bool]]: ...
    def __len__(self) -> int: ...
    def __arrow_c_schema__(self) -> object: ...
    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...
    def stream_as(self, form: str, requested_schema: Optional[object] = None) -> object: ...

@final
class BatchStream:
    # What deliver_as's `wrap` returns (a converz.Table), else Arrow tables.
    def __iter__(self) -> Iterator[Any]: ...
    def __next__(self) -> Any: ...
    def deliver_as(
        self,
        wrap: Callable[[ArrowTable, int], Any],
        on_end: Callable[[list[str], list[str]], list[str]],
    ) -> None: ...
    def take_back(self) -> bool: ...
    def keep_own_types(self) -> None: ...
    @property
    def exhausted(self) -> bool: ...
    @property
    def progress(self) -> tuple[int, int, int, str]:
        """(pages read, tables handed out, their rows, state), reading nothing."""
    @property
    def warnings(self) -> list[str]: ...

# --- reads: one function for every query value ---
# Every key present: page_size, parse_dates, schema, stream, progress. `schema` maps columns
# to the core's type names (arrow-rs syntax), as `converz._schema_types.check_schema` returns them.
_FetchOptions = dict[str, Any]

def check_query(query: _AnyQuery) -> None: ...
def ignore_log_error(err: BaseException) -> None: ...
def normalize_date(name: str, value: object) -> str: ...
def redact_keys(text: str) -> str: ...
def remember_key(key: str) -> None: ...
def normalize_datetime(name: str, value: object) -> str: ...
def fetch(
    client: RawClient, query: _AnyQuery, options: _FetchOptions
) -> Union[tuple[ArrowTable, list[str], int], BatchStream]: ...
def empty_table(columns: dict[str, Any]) -> ArrowTable: ...
def text_columns(data: Any) -> ArrowTable: ...
def concat_tables(tables: list[ArrowTable]) -> tuple[ArrowTable, list[str]]: ...

# --- push ---
_Key = Union[int, str]

@final
class ChunkResult:
    """One request body of a push.

    Attributes:
        index: Position in sending order.
        kind: ``"update"`` (columnar values) or ``"clear"`` (row-wise: explicit nulls beside the
            rows' values in the same ``clear=`` columns).
        rows: Rows in the chunk.
        first_key: Key of the first row.
        last_key: Key of the last row.
        status: ``"applied"``, ``"failed"``, ``"interrupted"`` (in flight when the push was
            stopped: may or may not be applied), ``"not_sent"`` or ``"planned"`` (dry run).
        updated: The API's ``updated`` count (applied chunks).
        not_found: Keys the API did not know (applied chunks).
        columns: The ``clear=`` columns the body names, each null on at least one of its rows
            (clear chunks).
        error: Why it failed (failed chunks).
    """

    @property
    def index(self) -> int: ...
    @property
    def kind(self) -> Literal["update", "clear"]: ...
    @property
    def rows(self) -> int: ...
    @property
    def first_key(self) -> _Key: ...
    @property
    def last_key(self) -> _Key: ...
    @property
    def status(self) -> Literal["applied", "failed", "interrupted", "not_sent", "planned"]: ...
    @property
    def updated(self) -> int: ...
    @property
    def not_found(self) -> tuple[_Key, ...]: ...
    @property
    def columns(self) -> tuple[str, ...]: ...
    @property
    def error(self) -> Optional[str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]: ...
    @classmethod
    def _restore(cls, *state: Any) -> ChunkResult:
        """Rebuilds a pickled chunk (the tuple ``__reduce__`` gave)."""

@final
class PushResult:
    """The outcome of :meth:`converz.Client.push_updates`.

    Attributes:
        target: ``"calls"`` or ``"reps"``.
        rows: Rows sent (after ``on_duplicate="last"`` dropped earlier duplicates).
        chunks: One :class:`ChunkResult` per request body, in sending order.
        bytes: Bytes of request bodies sent (or encoded, for a dry run).
        elapsed: Seconds.
        dry_run: True when nothing was sent.
        remaining: The input rows not known to be applied (failed, interrupted or not sent),
            ready to push again; None when the push returned. A ``PushError`` raised after
            every chunk was applied (a Ctrl-C as the last answer came) holds a table without
            rows, so ``push_updates(err.result.remaining, ...)`` sends nothing.

    Example:
        >>> res = client.push_updates(df)  # doctest: +SKIP
        >>> res.updated, res.not_found  # doctest: +SKIP
        (1000, [])
    """

    @property
    def target(self) -> Literal["calls", "reps"]: ...
    @property
    def rows(self) -> int: ...
    @property
    def chunks(self) -> tuple[ChunkResult, ...]: ...
    @property
    def bytes(self) -> int: ...
    @property
    def elapsed(self) -> float: ...
    @property
    def dry_run(self) -> bool: ...
    @property
    def remaining(self) -> Optional[Table]:
        """The input rows not known to be applied, ready to push again.

        None when every row was, except after a stop (Ctrl-C) that came once every chunk was
        applied: then a table without rows, so the resume the ``PushError`` spells still runs
        (and sends nothing). ``ok`` says whether every chunk was applied.
        """
    @property
    def requests(self) -> int:
        """Request bodies sent (or planned, for a dry run)."""
    @property
    def updated(self) -> int:
        """Sum of the API's ``updated`` counts over the update (not clear) chunks."""
    @property
    def not_found(self) -> list[_Key]:
        """Keys the API did not know, each once; they were not created."""
    @property
    def ok(self) -> bool:
        """True when every chunk was applied (or, for a dry run, planned)."""
    @property
    def failed(self) -> list[ChunkResult]:
        """Chunks that failed, were interrupted or were not sent."""
    def report(self) -> str:
        """A text table of every chunk: kind, key range, rows and status."""
    def _ended(self) -> PushResult:
        """This result with ``remaining`` a table without rows (for a stop after it ended)."""
        ...
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]: ...
    @classmethod
    def _restore(cls, *state: Any) -> PushResult:
        """Rebuilds a pickled result (the tuple ``__reduce__`` gave; remaining as Arrow IPC)."""

class _PushOptions(TypedDict):
    to: Optional[Literal["calls", "reps"]]
    clear: Sequence[str]
    chunk_rows: int
    on_duplicate: Literal["error", "last"]
    timezone: Optional[str]
    dry_run: bool
    strict: bool
    progress: _Progress

def check_push_options(options: _PushOptions) -> None:
    """Refuses option values that are wrong whatever the frame, before a row of it is read.

    Checks ``to``, ``chunk_rows``, ``on_duplicate`` and ``timezone``.
    """

def push(client: RawClient, data: object, options: _PushOptions) -> PushResult:
    """Validates and sends ``data``; see :meth:`converz.Client.push_updates`.

    Raises:
        PushError: Some chunk was not applied (``.result`` says which), or an exception from
            ``progress`` stopped the push (its ``__cause__``).
        KeyboardInterrupt: Ctrl-C stopped the push; its ``__cause__`` is the ``PushError``
            saying what was applied.
        InvalidRequestError: ``strict=True`` and the API reported unknown keys.
    """

# --- emulator ---
class _EmulatorSettings(TypedDict):
    calls: int
    reps: int
    seed: int
    host: str
    port: int
    api_key: Optional[str]
    today: Optional[_Date]
    days: int
    faults: Optional[Faults]

def check_faults(faults: Faults) -> None:
    """Refuses a fault setting out of its range as an emulator taking it would.

    Raises:
        InvalidParameterError: The setting named in it is out of range.
    """
@final
class Emulator:
    def __new__(cls, settings: _EmulatorSettings) -> Emulator: ...
    @property
    def url(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def running(self) -> bool: ...
    def set_faults(self, faults: Faults) -> None: ...
    def wire_stats(self) -> tuple[int, int, int]: ...
    def stop(self) -> None: ...

# File writers and sync helpers (src/python/write.rs).

_ArrowData = Any  # any Arrow PyCapsule exporter (__arrow_c_stream__ / __arrow_c_array__)

@final
class FileWriter:
    def __new__(
        cls, path: str, format: Optional[Literal["parquet", "ipc", "csv", "ndjson"]] = None
    ) -> FileWriter: ...
    def write(self, data: _ArrowData) -> None: ...
    @property
    def rows(self) -> int: ...
    def finish(self, empty: Optional[_ArrowData] = None) -> tuple[int, int]: ...
    @property
    def notes(self) -> list[str]: ...
    def abort(self) -> None: ...

def read_file(
    path: str, schema: Optional[dict[str, str]] = None, to: object = None
) -> ArrowTable: ...
def file_place(path: str, row: int, column: int) -> str: ...
def ipc_stream_bytes(data: _ArrowData) -> bytes: ...
def read_ipc_stream(data: bytes) -> ArrowTable: ...
def own_columns(table: ArrowTable) -> Optional[tuple[ArrowTable, list[int]]]: ...
def with_own_columns(table: ArrowTable, own: ArrowTable, indexes: list[int]) -> ArrowTable: ...
def csv_bytes(data: _ArrowData, columns: Optional[list[str]] = None) -> bytes: ...
def split_days(
    data: _ArrowData, date_column: str, time_column: str, drop_date: bool = True
) -> tuple[list[tuple[int, ArrowTable]], Optional[int]]: ...
@final
class KeySet:
    def __new__(cls, fetched: list[str], key: str) -> KeySet: ...
    def __len__(self) -> int: ...
    def files_holding(self, paths: list[str]) -> list[bool]: ...
    def carry_unseen(
        self, days: list[tuple[str, str, Optional[int]]], before: Optional[int] = None
    ) -> list[tuple[int, int]]: ...

def conform_days(
    days: list[tuple[list[str], str]], existing: list[tuple[str, str]]
) -> tuple[list[int], list[str]]: ...
def read_parquet_files(paths: list[str], like: list[str] = ...) -> ArrowTable: ...
def widened_columns(existing: list[str], staged: list[str]) -> list[str]: ...
