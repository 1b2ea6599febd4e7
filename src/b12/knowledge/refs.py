"""Find every ``Ref``-typed value in a validated entry, so the loader can check it points somewhere."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from functools import cache
from typing import Annotated, Any, Union

from pydantic import BaseModel

from b12.knowledge.schema import Ref


def _ref_in(tp: Any) -> Ref | None:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        for meta in typing.get_args(tp)[1:]:
            if isinstance(meta, Ref):
                return meta
        return _ref_in(typing.get_args(tp)[0])
    if origin in (Union, types.UnionType, tuple, list):
        for arg in typing.get_args(tp):
            found = _ref_in(arg)
            if found is not None:
                return found
    return None


@cache
def _field_refs(model: type[BaseModel]) -> dict[str, Ref | None]:
    refs: dict[str, Ref | None] = {}
    for name, info in model.model_fields.items():
        ref = next((m for m in info.metadata if isinstance(m, Ref)), None)
        refs[name] = ref or _ref_in(info.annotation)
    return refs


def iter_refs(entry: BaseModel, path: str = "") -> Iterator[tuple[str, tuple[str, ...], str]]:
    """Yield (field path, collections it may point into, the id) for every reference in ``entry``."""
    for name, ref in _field_refs(type(entry)).items():
        value = getattr(entry, name)
        where = f"{path}{name}"
        values = value if isinstance(value, tuple) else (value,)
        for index, item in enumerate(values):
            at = f"{where}[{index}]" if isinstance(value, tuple) else where
            if isinstance(item, BaseModel):
                yield from iter_refs(item, f"{at}.")
            elif ref is not None and isinstance(item, str):
                yield at, ref.collections, item
