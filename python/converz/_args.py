"""Type checks of plain arguments, at the Python edge, before anything is sent.

A wrong type is an :class:`~converz.InvalidParameterTypeError` naming the parameter: a converz
error that is also the ``TypeError`` Python code expects. Ranges and formats (``timeout > 0``,
``compression`` in ``"auto"``/``"gzip"``) stay with the Rust core, which checks them once for
every caller; these checks only make sure the value reaching it is of the right kind, and that
a driver (Dask, Ray, Spark) refuses a bad setting itself instead of shipping it to workers.

Messages show the type given, never the value: the value of a setting may be the API key.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import operator
from collections.abc import Mapping
from typing import Any, Callable, Optional, TypeVar, cast, overload

from converz.exceptions import InvalidParameterError, InvalidParameterTypeError

__all__ = [
    "check_arguments",
    "check_client_settings",
    "check_flag",
    "check_int",
    "frame_form",
    "is_flag",
    "is_int",
    "wrong_type",
]


def wrong_type(name: str, expected: str, value: object) -> InvalidParameterTypeError:
    """The error for ``value`` given as ``name`` where ``expected`` was wanted.

    Example:
        >>> str(wrong_type("page_size", "an int", "x"))
        'page_size: expected an int, got str'
    """
    return InvalidParameterTypeError(
        f"{name}: expected {expected}, got {type(value).__name__}", parameter=name
    )


def check_unicode(name: str, *texts: str) -> None:
    """Refuses a str holding a lone surrogate (U+D800, say), which no request can carry.

    Said as the core says it for every other parameter (outside trial 32 F1: ``clear=`` and
    ``timezone=`` raised the core's bare ``TypeError`` naming an internal struct).
    """
    from converz import _core

    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidParameterError(
                f"invalid parameter `{name}`: {text!r} {_core.NOT_UNICODE}", parameter=name
            ) from None


def check_path(name: str, path: Any) -> None:
    """Refuses a path no file system call can take, before anything is read or written.

    Such a path holds a lone surrogate that is not an escaped byte (U+D800, say).
    """
    import os

    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        raise InvalidParameterError(
            f"invalid parameter `{name}`: {os.fspath(path)!r} names no file: it holds a "
            "character the file system cannot encode (a lone surrogate)",
            parameter=name,
        ) from None


def is_int(value: object) -> bool:
    """An int or an integer-like (``numpy.int64``), as the core counts them; a bool is not.

    Example:
        >>> is_int(3), is_int(True), is_int(3.0)
        (True, False, False)

    Asked by converting, not by the presence of ``__index__``: a numpy array has that method
    too, and of more than one value it raises, so ``page_size=np.array([1, 2])`` passed the
    check and failed later as a bare ``TypeError`` or ``ValueError`` (outside trial 52).
    """
    return _as_int(value) is not None


def _as_int(value: object) -> Optional[int]:
    """``value`` as a plain int, converted once; None when it is none (a bool is not one)."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except Exception:  # whatever a foreign __index__ raises: not an int
        return None


def is_flag(value: object) -> bool:
    """True or False, also as a numpy scalar (``numpy.bool_``, which has no ``__index__``).

    Example:
        >>> is_flag(False), is_flag(0), is_flag("no")
        (True, False, False)
    """
    kind = type(value)
    return isinstance(value, bool) or (
        kind.__module__ == "numpy" and kind.__name__ in ("bool_", "bool")
    )


def _is_number(value: object) -> bool:
    """An int or a float, also as a numpy scalar; converted as :func:`is_int` says why.

    No bool is one: numpy's scalar, nor a 0-d array of bools, which converts to 1.0 as well
    (outside trial 54 F1: ``timeout=np.array(True)`` was a one-second timeout).
    """
    holds_bools = getattr(getattr(value, "dtype", None), "kind", None) == "b"
    if isinstance(value, (bool, str, bytes)) or is_flag(value) or holds_bools:
        return False
    if is_int(value):
        return True
    try:
        float(value)  # type: ignore[arg-type]
    except Exception:  # an array of several values, or a foreign __float__ that raises
        return False
    return True


@overload
def check_int(name: str, value: object) -> int: ...
@overload
def check_int(name: str, value: object, *, optional: bool) -> Optional[int]: ...
def check_int(name: str, value: object, *, optional: bool = False) -> Optional[int]:
    """``value`` as a plain int (None when ``optional`` and it is None), or the error naming it.

    Converted once, here: callers pass the plain int on, since a numpy scalar or another
    integer-like converted again where the core reads it failed there with an error that named
    a struct field (outside trial 53 F5).
    """
    if optional and value is None:
        return None
    plain = _as_int(value)
    if plain is None:
        raise wrong_type(name, "an int or None" if optional else "an int", value)
    return plain


def check_number(name: str, value: object, *, optional: bool = False) -> Optional[float]:
    """``value`` as a float (None when ``optional`` and it is None), or the error naming it.

    A bool, numpy's included, or a str is not a number; an int too large for a float is out
    of range (outside trial 53 F3, F4).
    """
    if optional and value is None:
        return None
    if _is_number(value):
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise InvalidParameterError(
                f"{name}: {value!r:.40} is out of range for a number", parameter=name
            ) from None
    raise wrong_type(name, "a number or None" if optional else "a number", value)


def check_flag(name: str, value: object, *, optional: bool = False) -> None:
    """``value`` is True or False (or None, when ``optional``); ``"no"`` is not False.

    A numpy bool counts; callers pass ``bool(value)`` on, so the core sees a plain bool.
    """
    if not (is_flag(value) or (optional and value is None)):
        raise wrong_type(name, "True, False or None" if optional else "True or False", value)


# How each `frame=` lays out a table's text columns, as the core names the form: Arrow's
# declared Utf8 (pyarrow, DuckDB), polars' views, pandas' 64-bit offsets (README § Tables).
_FRAME_FORMS = {"arrow": "utf8", "polars": "utf8_view", "pandas": "large_utf8"}


def frame_form(value: object) -> str:
    """The core's name for the text layout ``frame=`` asks for.

    Example:
        >>> frame_form("polars")
        'utf8_view'
        >>> frame_form("spark")
        Traceback (most recent call last):
        ...
        converz.exceptions.InvalidParameterError: frame: expected 'arrow', 'polars' or 'pandas' (lower case)
    """  # noqa: E501
    expected = "'arrow', 'polars' or 'pandas'"
    if not isinstance(value, str):
        raise wrong_type("frame", expected, value)
    if value not in _FRAME_FORMS:
        raise InvalidParameterError(
            f"frame: expected {expected} (lower case)",
            parameter="frame",
            hint="frame= names the library the table is for; any table still converts to all",
        )
    return _FRAME_FORMS[value]


# What each client setting must be (None is allowed where it means "the default").
_SETTINGS: dict[str, tuple[str, bool]] = {
    "api_key": ("text", True),
    "base_url": ("text", True),
    "tenant": ("text", True),
    "timeout": ("number", False),
    "connect_timeout": ("number", False),
    "backoff": ("number", False),
    "retries": ("int", False),
    "max_concurrency": ("int", False),
    "page_size": ("int", True),
    "compression": ("text", True),
    "progress": ("flag", True),
}
_EXPECTED = {"text": "a str", "int": "an int"}


def check_client_settings(settings: Mapping[str, Any]) -> None:
    """The types of :class:`converz.Client`'s settings (those present in ``settings``).

    Example:
        >>> check_client_settings({"timeout": "30"})
        Traceback (most recent call last):
        ...
        converz.exceptions.InvalidParameterTypeError: timeout: expected a number, got str
    """
    for name, value in settings.items():
        kind, optional = _SETTINGS.get(name, ("any", True))  # an unknown name fails its caller
        if kind == "any" or (optional and value is None):
            continue
        if kind == "flag":
            check_flag(name, value, optional=optional)
        elif kind == "int":
            check_int(name, value, optional=optional)
        elif kind == "number":
            check_number(name, value, optional=optional)
        elif kind == "text" and not isinstance(value, str):
            raise wrong_type(name, _EXPECTED[kind] + (" or None" if optional else ""), value)


F = TypeVar("F", bound=Callable[..., Any])


def check_arguments(func: F) -> F:
    """``func``, refusing arguments its signature does not take as the fetch methods do.

    A misspelt keyword or one positional too many is an
    :class:`~converz.InvalidParameterTypeError`, not Python's own ``TypeError``.

    Python's own ``TypeError`` is not a ``ConverzError``, so a pipeline catching those around a
    push let ``push_updates(df, cleer=[...])`` escape (outside trial 18); this one names the
    keyword, the closest the call takes, and all of them. Only the binding is checked here:
    types and values stay with ``func``.
    """
    signature = inspect.signature(func)

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            signature.bind(*args, **kwargs)
        except TypeError:
            raise _binding_error(func.__qualname__, signature, args, kwargs) from None
        return func(*args, **kwargs)

    return cast("F", checked)


def _binding_error(
    name: str, signature: inspect.Signature, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> InvalidParameterTypeError:
    params = [p for p in signature.parameters.values() if p.name != "self"]
    by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    keywords = [p.name for p in params if p.kind in by_name]
    by_position = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p.name for p in params if p.kind in by_position]
    call = name.replace(".__init__", "")
    takes = ", ".join(f"{k}=" for k in keywords)
    unknown = [k for k in kwargs if k not in keywords]
    if unknown:
        close = difflib.get_close_matches(unknown[0], keywords, n=1)
        also = f" (did you mean {close[0]}=?)" if close else ""
        return InvalidParameterTypeError(
            f"{call}() got an unexpected keyword argument {unknown[0]!r}{also}; it takes {takes}",
            parameter=unknown[0],
        )
    required = [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    given = len(args) - (1 if "self" in signature.parameters else 0)
    missing = [n for n in required[given:] if n not in kwargs]
    if missing:
        return InvalidParameterTypeError(
            f"{call}() is missing its argument {missing[0]}", parameter=missing[0]
        )
    lead = f"{', '.join(positional)} by position and the rest" if positional else "arguments"
    return InvalidParameterTypeError(
        f"{call}() takes {lead} by keyword ({takes}); got {given} by position",
        parameter=positional[-1] if positional else keywords[0],
    )
