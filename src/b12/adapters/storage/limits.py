"""What the record can keep, checked before the database sees a row, the same on every database.

Each text column of ``tables.py`` keeps at most its declared length (``String(64)``: 64
characters); a ``Text`` column at most ``TEXT_LIMIT``. No text anywhere in a row (JSON included)
may hold a NUL (PostgreSQL refuses it, SQLite would cut the text at it) or a lone surrogate (the
undecodable bytes of an argument, which neither database can encode). The error names the field
of the command that set the column and the limit.

Each amount (an ``ExactDecimal`` column: NUMERIC(15, 6)) is a finite number of at most 9 digits
before the point and 6 after it, so that both databases give it back exactly as it was written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, String, Table

from b12.adapters.storage.types import PRECISION, SCALE, ExactDecimal, plain
from b12.errors import InputError

#: The largest amount a NUMERIC(PRECISION, SCALE) column keeps is below this.
AMOUNT_BOUND = Decimal(10) ** (PRECISION - SCALE)

#: The most characters a free-text column (a reason, a description) keeps.
TEXT_LIMIT = 4000

#: The command's field for a column whose name differs from it.
FIELD_OF_COLUMN: Mapping[str, str] = {
    "code": "patient",
    "recorded_by": "who",
    "given_by": "who",
    "prescribed_by": "who",
    "dispensed_by": "who",
    "created_by": "who",
    "text": "readings",
    "value": "readings",
    "normalised_value": "readings",
    "age_months": "age",
}


#: How a message names a field whose name alone reads badly.
LABEL: Mapping[str, str] = {
    "who": "name of who records",
    "patient": "patient identifier",
    "readings": "result as written",
}


class StoredTextError(InputError):
    """A text the record cannot keep as it is: too long, a NUL, or not valid UTF-8."""


def limit_of(table: Table, column: str) -> int | None:
    """The most characters ``column`` of ``table`` keeps (None: not text)."""
    kind = table.c[column].type
    if isinstance(kind, JSON) or not isinstance(kind, String):
        return None
    return kind.length or TEXT_LIMIT


def check_row(table: Table, row: Mapping[str, Any]) -> None:
    """Refuse a row the record cannot keep exactly (see the module's docstring)."""
    columns = _COLUMNS.get(table)
    if columns is None:
        columns = _COLUMNS[table] = {
            c.key: (FIELD_OF_COLUMN.get(c.key, c.key), limit_of(table, c.key),
                    isinstance(c.type, ExactDecimal))
            for c in table.c
        }  # fmt: skip
    for name, value in row.items():
        if value is None:
            continue
        field, limit, amount = columns[name]
        if isinstance(value, str):
            check_text(field, value, limit)
        elif isinstance(value, Decimal):
            if amount:
                check_amount(field, name, value)
        elif type(value) in _JSON or isinstance(value, Mapping | list | tuple):
            _check_json(field, value)


#: Per table, per column: the command's field, the most characters it keeps, whether an amount.
_COLUMNS: dict[Table, dict[str, tuple[str, int | None, bool]]] = {}
_JSON = frozenset({dict, list, tuple})


#: A lone surrogate: what invalid UTF-8 decodes to with surrogateescape; no database keeps it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(field: str, text: str, limit: int | None = None) -> None:
    """Refuse ``text`` for ``field`` when it is longer than ``limit`` or holds a NUL or surrogate."""
    if (
        "\x00" not in text
        and (text.isascii() or _SURROGATE.search(text) is None)
        and (limit is None or len(text) <= limit)
    ):
        return  # every text a record keeps passes here, without a message made for it
    label = LABEL.get(field, field.replace("_", " "))
    if "\x00" in text:
        raise StoredTextError(f"the {label} holds a NUL character (\\x00): remove it", field=field)
    if not text.isascii() and _SURROGATE.search(text) is not None:
        raise StoredTextError(
            f"the {label} is not valid UTF-8 text: write it in UTF-8", field=field
        )
    if limit is not None and len(text) > limit:
        raise StoredTextError(
            f"the {label} is {len(text)} characters long; the record keeps at most {limit}: "
            "shorten it",
            field=field,
        )


def check_amount(field: str, column: str, value: Decimal) -> None:
    """Refuse an amount an ExactDecimal column cannot give back exactly."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent <= SCALE and abs(value) < AMOUNT_BOUND:
        return  # finite, in range and at most SCALE places as written: kept exactly
    label = LABEL.get(field, field.replace("_", " "))
    what = column.replace("_", " ")
    if not value.is_finite():
        raise StoredTextError(
            f"the {label}: {what} {value} is not a number: write a number", field=field
        )
    if abs(value) >= AMOUNT_BOUND:
        raise StoredTextError(
            f"the {label}: {what} {value:f} is too large; the record keeps amounts below "
            f"{AMOUNT_BOUND:,}: check the value and its unit",
            field=field,
        )
    exponent = plain(value).as_tuple().exponent
    if isinstance(exponent, int) and -exponent > SCALE:
        raise StoredTextError(
            f"the {label}: {what} {value:f} has more than {SCALE} decimal places; the record "
            f"keeps {SCALE}: write it with at most {SCALE}",
            field=field,
        )


def _check_json(field: str, value: Any) -> None:
    kind = type(value)
    if kind is int or kind is float or kind is bool or value is None:
        return
    if isinstance(value, str):
        check_text(field, value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_json(field, str(key))
            _check_json(key if isinstance(key, str) and key.isidentifier() else field, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(field, item)
