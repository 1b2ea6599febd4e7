"""Records to rows and back: amounts as Decimals (NUMERIC), times as instants, mappings as JSON.

Times are stored in UTC and read back in the clinic's time zone (``zone``; None: the machine's),
so that a record's ``.date()`` is the clinic's day and a printed time is the clinic's clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from b12.domain.jsonable import freeze, to_json

T = TypeVar("T")


#: Column values that are never JSON, by exact type (the rest are checked with isinstance).
_SCALAR = frozenset({str, int, float, bool, type(None), Decimal, datetime, date})
#: Each record class's field names, in order (read once per class).
_FIELDS: dict[type, tuple[str, ...]] = {}


def to_row(record: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    kind = type(record)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(record))
    row: dict[str, Any] = {}
    for name in names:
        if name in skip:
            continue
        value = getattr(record, name)
        if type(value) not in _SCALAR and isinstance(value, Mapping | tuple | list):
            value = to_json(value)
        row[name] = value
    return row


def from_row(kind: type[T], row: Mapping[Any, Any], zone: tzinfo | None = None, **extra: Any) -> T:
    names = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for name in names - extra.keys():
        value = row[name]
        if isinstance(value, datetime):
            value = value.astimezone(zone)
        elif isinstance(value, Mapping | list):
            value = freeze(value)
        values[name] = value
    return kind(**values, **extra)
