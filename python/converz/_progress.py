"""Progress bars and log lines for long fetches and pushes.

tqdm (notebook-aware) when installed, a plain terminal line otherwise, and no bar when output
is not a terminal (CI, cron, Airflow logs). Whatever the bar, a fetch or push that runs longer
than :data:`LOG_EVERY_SECONDS` logs its counters at INFO on the ``converz`` logger that often,
so a long task's log shows it moving (outside trial: a listing that never ended said nothing).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Optional, Union

from converz._log import logger
from converz._words import count

ProgressCallback = Callable[[int, int, int, int], None]

# Below this many seconds a bar is noise: it only appears once an operation runs longer.
_DELAY_SECONDS = 0.5

# How often a running operation logs its counters (INFO).
LOG_EVERY_SECONDS = 30.0

# The attribute set on those log records, so the CLI can show them alone (see
# :func:`converz._cli` ``_progress_lines``).
PROGRESS_RECORD = "converz_progress"


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = getattr(shell, "get_ipython", lambda: None)()
    return ipython is not None and "IPKernelApp" in getattr(ipython, "config", {})


def _wanted(progress: Optional[bool]) -> bool:
    if progress is not None:
        return progress
    if os.environ.get("CI") or os.environ.get("CONVERZ_NO_PROGRESS"):
        return False
    return _in_notebook() or _is_terminal(sys.stderr)


def _is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal.

    Not when there is none (``pythonw``, fd 2 closed: ``sys.stderr`` is ``None``), it has no
    ``isatty`` (some IDE hosts' writers) or it is closed (outside trial 37 F3: a fetch raised
    ``AttributeError`` there before sending anything).
    """
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _draw(text: str) -> None:
    """Writes ``text`` on stderr, if there is one that takes it: a bar never fails a fetch."""
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (AttributeError, ValueError, OSError):
        pass


class _Bar:
    """Receives the core's counters and draws them."""

    def __init__(self, description: str, unit: str) -> None:
        self._description = description
        self._unit = unit
        self._started = time.monotonic()
        self._tqdm: Any = None
        self._last_rows = 0
        self._line_drawn = False

    def __call__(self, rows: int, pages: int, nbytes: int, retries: int) -> None:
        # Nothing to show before the first rows (tqdm's scaled count would read "0.00 rows").
        if time.monotonic() - self._started < _DELAY_SECONDS or rows == 0:
            return
        postfix = f"{count(pages, self._unit)}, {nbytes / 1e6:.0f} MB" + (
            f", {count(retries, 'retry', 'retries')}" if retries else ""
        )
        if self._tqdm is None and not self._line_drawn:
            self._tqdm = _make_tqdm(self._description)
        if self._tqdm is not None:
            self._tqdm.update(rows - self._last_rows)
            self._tqdm.set_postfix_str(postfix, refresh=False)
        else:
            _draw(f"\r{self._description}: {count(rows, 'row')}, {postfix}")
            self._line_drawn = True
        self._last_rows = rows

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        elif self._line_drawn:
            _draw("\n")


def _make_tqdm(description: str) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(desc=description, unit=" rows", unit_scale=True, leave=True)


class _Log:
    """Logs the core's counters every :data:`LOG_EVERY_SECONDS`, and passes them on to a bar."""

    def __init__(
        self, description: str, unit: str, bar: Optional[_Bar], *, sized: bool = True
    ) -> None:
        self._description = description
        self._unit = unit
        self._bar = bar
        self._sized = sized  # False: the caller has no byte count (a stream's pages)
        self._started = time.monotonic()
        self._next = self._started + LOG_EVERY_SECONDS

    def __call__(self, rows: int, pages: int, nbytes: int, retries: int) -> None:
        if self._bar is not None:
            self._bar(rows, pages, nbytes, retries)
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + LOG_EVERY_SECONDS
        logger.info(
            "%s: %s, %s%s%s so far (%.0f s)",
            self._description,
            count(rows, "row"),
            count(pages, self._unit),
            f", {nbytes / 1e6:.0f} MB" if self._sized else "",
            f", {count(retries, 'retry', 'retries')}" if retries else "",
            now - self._started,
            extra={PROGRESS_RECORD: True},
        )


class progress_bar:  # noqa: N801 - used like a function in a with-statement
    """Context manager giving the callback to hand to the core.

    It draws a bar when bars are on, and always logs as :class:`_Log` does.

    Args:
        progress: True/False to force; None decides from the environment (TTY or notebook).
        description: Shown left of the bar.
        unit: What the core's page counter counts, in the singular ("page" or "chunk").
    """

    def __init__(self, progress: Optional[bool], description: str, unit: str = "page") -> None:
        self._bar: Union[_Bar, None] = _Bar(description, unit) if _wanted(progress) else None
        self._log = _Log(description, unit, self._bar)

    def __enter__(self) -> Optional[ProgressCallback]:
        return self._log

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
