"""Records to rows and back: Decimals as exact text, mappings as JSON with Decimals as text."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from b12.domain.jsonable import freeze, to_json

T = TypeVar("T")

#: Columns that hold an exact Decimal as text.
DECIMAL_COLUMNS = frozenset({"dose_mcg", "volume_ml", "value", "normalised_value"})


def to_row(record: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, Decimal):
            value = format(value, "f")
        elif isinstance(value, Mapping | tuple | list):
            value = to_json(value)
        row[f.name] = value
    return row


def from_row(kind: type[T], row: Mapping[Any, Any]) -> T:
    names = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for name in names:
        value = row[name]
        if name in DECIMAL_COLUMNS and value is not None:
            value = Decimal(value)
        elif isinstance(value, Mapping | list):
            value = freeze(value)
        values[name] = value
    return kind(**values)
