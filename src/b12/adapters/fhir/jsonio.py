"""FHIR JSON with exact numbers: read with every decimal as a Decimal, written as its exact text.

A FHIR decimal keeps its precision ("1.50" is not "1.5" to a laboratory), and a binary float
cannot hold most of them: b12 never lets one in. ``loads`` reads numbers with a fraction or an
exponent as Decimal (integers stay int) and refuses NaN and Infinity; ``dumps`` writes a Decimal
as the number it is, never through a float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from b12.errors import InputError


class FhirJsonError(InputError):
    """The text is not JSON b12 can read exactly."""


def _no_constant(name: str) -> Any:
    raise FhirJsonError(
        f"{name} is not a FHIR number: write a decimal such as 1000 or 0.5", field="json"
    )


def loads(text: str | bytes) -> Any:
    """JSON text -> Python values, decimals as Decimal (no binary float ever)."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except FhirJsonError:
        raise
    except UnicodeDecodeError as exc:
        raise FhirJsonError(f"not UTF-8 text: {exc.reason}", field="json") from None
    except json.JSONDecodeError as exc:
        raise FhirJsonError(
            f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); send one FHIR "
            "resource or Bundle as JSON",
            field="json",
        ) from None
    except (RecursionError, ValueError) as exc:  # a number too long, nesting too deep
        raise FhirJsonError(f"not JSON b12 reads: {exc}", field="json") from None


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a FHIR decimal")
    return format(value, "f")


def _write(value: Any, out: list[str], indent: str | None, level: int) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(_number(value))
    elif isinstance(value, float):
        raise TypeError(f"a binary float {value!r} in FHIR output: b12 writes Decimals only")
    elif isinstance(value, Mapping):
        items = list(value.items())
        if not items:
            out.append("{}")
            return
        inner = "" if indent is None else "\n" + indent * (level + 1)
        out.append("{")
        for i, (key, item) in enumerate(items):
            out.append(("," if i else "") + inner + json.dumps(str(key), ensure_ascii=False))
            out.append(": " if indent is not None else ":")
            _write(item, out, indent, level + 1)
        out.append(("" if indent is None else "\n" + indent * level) + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = "" if indent is None else "\n" + indent * (level + 1)
        out.append("[")
        for i, item in enumerate(value):
            out.append(("," if i else "") + inner)
            _write(item, out, indent, level + 1)
        out.append(("" if indent is None else "\n" + indent * level) + "]")
    else:
        raise TypeError(f"{type(value).__name__} {value!r} is not FHIR JSON")


def dumps(value: Any, *, indent: int | None = None) -> str:
    """Python values -> JSON text, each Decimal written exactly (1000, 0.50, 1.5)."""
    out: list[str] = []
    _write(value, out, None if indent is None else " " * indent, 0)
    return "".join(out)
