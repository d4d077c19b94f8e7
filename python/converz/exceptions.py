"""The errors converz raises, all rooted in :class:`ConverzError`.

The hierarchy::

    ConverzError
    ├── APIError                      the API answered with an error status
    │   ├── AuthenticationError       401/403: missing or wrong API key
    │   ├── InvalidRequestError       400/404/405/413: the API refused the request
    │   ├── RateLimitError            429 after every retry (.retry_after)
    │   └── ServerError               5xx after every retry
    ├── TransportError                connection failed or body cut off (also ConnectionError)
    ├── DecodeError                   a response that is not the documented JSON
    ├── InvalidParameterError         bad input, caught before any request (also ValueError)
    │   └── InvalidParameterTypeError a value of the wrong type, or an unknown keyword
    │                                 (also TypeError)
    ├── StreamError                   a stream used in a way it cannot serve (also RuntimeError)
    └── PushError                     some chunks of a push were not applied (.result)

Every error carries ``hint`` (what to do next) and, where it applies, ``status_code``, the
API's ``code`` and the ``endpoint``. None of them ever contains the API key.

Example:
    >>> import converz
    >>> try:
    ...     converz.Client(api_key="k", base_url="http://example.com/api/v1")
    ... except converz.InvalidParameterError as err:
    ...     print(err.parameter)
    base_url
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Optional

from converz._printable import printable

if TYPE_CHECKING:
    from converz._push import PushResult

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConverzError",
    "DecodeError",
    "InvalidParameterError",
    "InvalidParameterTypeError",
    "InvalidRequestError",
    "PushError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "TransportError",
]


class ConverzError(Exception):
    """Base class of every converz error.

    Attributes:
        hint: What to do next, or None.
        status_code: The HTTP status, when the API answered.
        code: The API's error code (``"invalid_parameter"``, ``"unauthorized"``, ...).
        endpoint: The request that failed, as ``"GET /calls"``.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: Optional[str] = None,
        status_code: Optional[int] = None,
        code: Optional[str] = None,
        endpoint: Optional[str] = None,
        **extra: Any,
    ) -> None:
        # The message may quote the server (an error body, a column name) or a file: what a
        # terminal would act on is escaped, the message's own line breaks kept.
        message = printable(str(message), keep_newlines=True)
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else printable(str(hint), keep_newlines=True)
        self.status_code = status_code
        self.code = None if code is None else printable(str(code))
        self.endpoint = endpoint
        for name, value in extra.items():
            setattr(self, name, value)

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class APIError(ConverzError):
    """The API answered with an error status (after retries, where retrying applies)."""


class AuthenticationError(APIError):
    """401 or 403: the API key is missing or wrong."""


class InvalidRequestError(APIError):
    """The API refused the request (400, 404, 405, 413); retrying will not help.

    A push under ``strict=True`` whose keys the API did not know raises it too, with
    ``status_code`` 200 (the other rows were applied) and ``result``, the push's
    :class:`~converz.PushResult` (``result.not_found`` lists the unknown keys).
    """

    result: Optional[PushResult] = None


class RateLimitError(APIError):
    """429 after every retry, or at once when its ``Retry-After`` is too long.

    Too long: longer than the retries left could wait in all, or a day or more; the message
    then says when the server can serve.

    Attributes:
        retry_after: The server's last ``Retry-After`` in seconds (an HTTP-date converted), as
            it said it (not capped), or None.
    """

    retry_after: Optional[float] = None


class ServerError(APIError):
    """The server failed (5xx) on every attempt.

    A 500/502/503/504 whose ``Retry-After`` asks for longer than the retries left could wait
    (or a day or more) fails at once, its message saying when the server can serve again.

    Attributes:
        retry_after: The server's last ``Retry-After`` in seconds (an HTTP-date converted), as
            it said it, on a 500/502/503/504; else None.
    """

    retry_after: Optional[float] = None


class TransportError(ConverzError, ConnectionError):
    """The connection failed, timed out or was cut off mid-body, on every attempt."""


class DecodeError(ConverzError):
    """A response was not the JSON the API documents."""


class InvalidParameterError(ConverzError, ValueError):
    """A parameter or the data to push is invalid; nothing was sent.

    Attributes:
        parameter: The parameter (or column) at fault.
    """

    parameter: Optional[str] = None

    def __init__(self, message: str, **kwargs: Any) -> None:
        # Every converz error says what to do next; here that is always the same.
        kwargs.setdefault("hint", None)
        if kwargs["hint"] is None:
            kwargs["hint"] = "fix the parameter or data named above; nothing was sent"
        super().__init__(message, **kwargs)


class InvalidParameterTypeError(InvalidParameterError, TypeError):
    """A parameter has the wrong type, or a keyword is not one the call takes; nothing was sent.

    Also a ``TypeError`` (what Python raises for a wrong type), so ``except TypeError`` code
    keeps working, and an :class:`InvalidParameterError`, so ``except converz.ConverzError``
    catches every bad argument. The message names the parameter, what was expected and the
    type that was given (never the value of a setting, which may be the API key).

    Attributes:
        parameter: The parameter at fault (``"query"`` when a query value and keyword filters
            were both given, or the query is of the wrong type).

    Example:
        >>> import converz
        >>> try:
        ...     converz.CallsQuery(campaign=5)
        ... except converz.ConverzError as err:
        ...     print(type(err).__name__, err.parameter, isinstance(err, TypeError))
        InvalidParameterTypeError campaign True
    """


class StreamError(ConverzError, RuntimeError):
    """A stream (``iter_calls()``, ``iter_reps()``) was used in a way it cannot serve.

    No row was lost. It was already consumed, is being read from another thread, was started before
    ``fork()``, or stopped mid-page (Ctrl-C) so it cannot tell which rows it still owes. Also a
    ``RuntimeError``. The hint says what to do: start a new stream.

    Example:
        >>> import converz
        >>> issubclass(converz.StreamError, RuntimeError)
        True
    """


class PushError(ConverzError):
    """Some chunks of a push were not applied; the rest were.

    Attributes:
        result: The :class:`~converz.PushResult` saying exactly which key ranges were applied,
            which failed and which were not sent; ``result.remaining`` holds the rows to push
            again.

    Example:
        >>> try:  # doctest: +SKIP
        ...     client.push_updates(df)
        ... except converz.PushError as err:
        ...     print(err.result.report())
        ...     client.push_updates(err.result.remaining)  # resume with only the rest
    """

    def __init__(self, message: str, *, result: PushResult, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.result = result

    def __reduce__(self) -> tuple[Any, ...]:
        # `result` is keyword-only, so the default (cls, args) rebuild cannot pass it: a
        # multiprocessing worker's PushError would arrive as a MaybeEncodingError instead.
        return (functools.partial(type(self), result=self.result), self.args, self.__dict__)
