"""Type checks of plain arguments, at the Python edge, before anything is sent.

A wrong type is an :class:`~converz.InvalidParameterTypeError` naming the parameter: a converz
error that is also the ``TypeError`` Python code expects. Ranges and formats (``timeout > 0``,
``compression`` in ``"auto"``/``"gzip"``) stay with the Rust core, which checks them once for
every caller; these checks only make sure the value reaching it is of the right kind, and that
a driver (Dask, Ray, Spark) refuses a bad setting itself instead of shipping it to workers.

Messages show the type given, never the value: the value of a setting may be the API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from converz.exceptions import InvalidParameterTypeError

__all__ = [
    "check_client_settings",
    "check_flag",
    "check_int",
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


def is_int(value: object) -> bool:
    """An int or an integer-like (``numpy.int64``), as the core counts them; a bool is not.

    Example:
        >>> is_int(3), is_int(True), is_int(3.0)
        (True, False, False)
    """
    return not isinstance(value, bool) and hasattr(value, "__index__")


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
    return not isinstance(value, (bool, str, bytes)) and (
        hasattr(value, "__float__") or hasattr(value, "__index__")
    )


def check_int(name: str, value: object, *, optional: bool = False) -> None:
    """``value`` is an int (or None, when ``optional``)."""
    if not (is_int(value) or (optional and value is None)):
        raise wrong_type(name, "an int or None" if optional else "an int", value)


def check_flag(name: str, value: object, *, optional: bool = False) -> None:
    """``value`` is True or False (or None, when ``optional``); ``"no"`` is not False.

    A numpy bool counts; callers pass ``bool(value)`` on, so the core sees a plain bool.
    """
    if not (is_flag(value) or (optional and value is None)):
        raise wrong_type(name, "True, False or None" if optional else "True or False", value)


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
_EXPECTED = {"text": "a str", "number": "a number (int or float)", "int": "an int"}


def check_client_settings(settings: Mapping[str, Any]) -> None:
    """The types of :class:`converz.Client`'s settings (those present in ``settings``).

    Example:
        >>> check_client_settings({"timeout": "30"})
        Traceback (most recent call last):
        ...
        converz.exceptions.InvalidParameterTypeError: timeout: expected a number (int or float), got str
    """  # noqa: E501
    for name, value in settings.items():
        kind, optional = _SETTINGS.get(name, ("any", True))  # an unknown name fails its caller
        if kind == "any" or (optional and value is None):
            continue
        if kind == "flag":
            check_flag(name, value, optional=optional)
        elif kind == "int":
            check_int(name, value, optional=optional)
        elif kind == "number" and not _is_number(value):
            raise wrong_type(name, _EXPECTED[kind], value)
        elif kind == "text" and not isinstance(value, str):
            raise wrong_type(name, _EXPECTED[kind] + (" or None" if optional else ""), value)
