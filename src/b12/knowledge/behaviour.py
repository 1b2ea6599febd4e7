"""What a knowledge entry does beyond holding its fields, written once for both of its classes.

An entry is declared in ``schema.py`` (pydantic: it validates the YAML) and run as the generated
frozen dataclass of the same name in ``entries.py`` (no pydantic: it is what b12 loads and uses).
The few computed values the services read (a range's text, a source's trust, an ingredient's
strength) live here as mixins that both classes inherit, so the two can never disagree. The
closed vocabularies (routes, forms, statuses...) live here too, for both to name.

Nothing here may import pydantic or YAML: the runtime entries import this module.
"""

from __future__ import annotations

from dataclasses import Field, FrozenInstanceError
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

SourceKind = Literal["regulatory", "guideline", "reference", "educational", "anecdotal"]
#: Trust follows the kind: regulatory label > guideline > reference > educational > anecdote.
TRUST_BY_KIND: dict[str, int] = {
    "regulatory": 5,
    "guideline": 4,
    "reference": 3,
    "educational": 2,
    "anecdotal": 1,
}
Route = Literal["IM", "SC", "deep-SC", "IV", "intrathecal", "oral", "sublingual", "nasal"]
Form = Literal["injection", "tablet", "sublingual-tablet", "spray", "drops", "capsule"]
Status = Literal["supported", "contradicted", "unsupported", "unverified"]
PhaseKind = Literal[
    "loading", "consolidation", "maintenance", "treatment", "diagnostic", "prophylaxis"
]

#: The named vocabularies, so the generated entries keep their names (``routes: tuple[Route, ...]``).
VOCABULARIES = {
    "SourceKind": SourceKind,
    "Route": Route,
    "Form": Form,
    "Status": Status,
    "PhaseKind": PhaseKind,
}


class Behaviour:
    """Base of the mixins below: how the generator knows which bases to carry over."""

    __slots__ = ()


class RangeBehaviour(Behaviour):
    __slots__ = ()
    if TYPE_CHECKING:
        min: Decimal
        max: Decimal

    @property
    def is_single(self) -> bool:
        return self.min == self.max

    def __str__(self) -> str:
        return f"{self.min}" if self.is_single else f"{self.min}-{self.max}"


class SourceBehaviour(Behaviour):
    __slots__ = ()
    if TYPE_CHECKING:
        kind: SourceKind

    @property
    def trust(self) -> int:
        return TRUST_BY_KIND[self.kind]


class IngredientBehaviour(Behaviour):
    __slots__ = ()
    if TYPE_CHECKING:
        amount_mcg: Decimal | None
        per_ml: Decimal | None

    @property
    def mcg_per_ml(self) -> Decimal | None:
        if self.amount_mcg is None or self.per_ml is None:
            return None
        return self.amount_mcg / self.per_ml


class Entry:
    """Base of every runtime entry (the generated dataclasses of ``entries.py``): frozen.

    Assigning or deleting a field raises ``dataclasses.FrozenInstanceError``, as a
    ``@dataclass(frozen=True)`` does (the generated ``__init__`` sets each field once).
    """

    __slots__ = ()
    if TYPE_CHECKING:
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __copy__(self) -> Self:
        return self  # immutable, like a tuple

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self

    def as_dict(self) -> dict[str, Any]:
        """The entry's fields as plain data (nested entries as dicts), leaving out those that are None."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = _plain(getattr(self, name))
            if value is not None:
                out[name] = value
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Entry):
        return value.as_dict()
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value
