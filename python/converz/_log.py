"""The ``converz`` logger as the package's Python code logs to it.

A handler that raises cannot cost a call its result. What the package logs has happened by
then (a push applied, a fetch's rows in hand, a sync's state written); a handler's
``Exception`` raised from there lost the result, a push's ``PushResult`` and with it what was
applied. It is reported as the Rust side reports one from its own records
(``_core.ignore_log_error``: through ``sys.unraisablehook``, "Exception ignored in: <Logger
converz (...)>" and the traceback) and the call goes on. A stop (``KeyboardInterrupt`` from a
signal handler, which is no ``Exception``) propagates.

Every line is redacted of the API key of every client made in the process (and every key a
reader was given) before it is logged.

Set-up (handlers, filters, levels) is done on ``logging.getLogger("converz")`` itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Optional

from converz import _core


class _Logger:
    """Logs to the ``converz`` logger; see the module's docstring."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def debug(self, msg: str, *args: object, extra: Optional[Mapping[str, object]] = None) -> None:
        self._log(logging.DEBUG, msg, args, extra)

    def info(self, msg: str, *args: object, extra: Optional[Mapping[str, object]] = None) -> None:
        self._log(logging.INFO, msg, args, extra)

    def warning(
        self, msg: str, *args: object, extra: Optional[Mapping[str, object]] = None
    ) -> None:
        self._log(logging.WARNING, msg, args, extra)

    def _log(
        self,
        level: int,
        msg: str,
        args: tuple[object, ...],
        extra: Optional[Mapping[str, object]],
    ) -> None:
        try:
            if not self._logger.isEnabledFor(level):
                return
            # Every line is redacted of the key here, once, whatever it quotes of a server's
            # (outside trial 86 N2: a partition's warning naming a column the server named by
            # the key showed it whole on every worker).
            text = _core.redact_keys(msg % args if args else msg)
            # The record names the package's line that logged, not this module's.
            self._logger.log(level, text, extra=extra, stacklevel=3)
        except Exception as err:
            _core.ignore_log_error(err)


logger = _Logger("converz")
