"""Records' JSON parts: Decimals as exact text, dates ISO 8601, frozen when read back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

#: The types that are JSON as they are (exactly these: a subclass takes the general path).
_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_json(value: Any) -> Any:
    """Plain JSON data; Decimals become their exact text, dates ISO 8601."""
    kind = type(value)
    if kind in _PLAIN:  # the common cases first, by exact type (every record write passes here)
        return value
    if kind is dict:  # a plain value is taken as it is, without a call
        return {
            (k if type(k) is str else str(k)): (v if type(v) in _PLAIN else to_json(v))
            for k, v in value.items()
        }
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else to_json(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if hasattr(value, "to_dict"):
        return to_json(value.to_dict())
    return value


def freeze(value: Any) -> Any:
    """JSON read back, made immutable (records are frozen)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return MappingProxyType(
            {k: (v if type(v) in _PLAIN else freeze(v)) for k, v in value.items()}
        )
    if kind is list or kind is tuple:
        return tuple([v if type(v) in _PLAIN else freeze(v) for v in value])
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value
