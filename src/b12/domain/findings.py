"""Findings: what b12 tells a person about an order, a patient or a record, with its basis."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Level(StrEnum):
    """How loud a finding is. Only `stop` interrupts by default; stops are few and listed."""

    STOP = "stop"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"stop": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True)
class Basis:
    """The knowledge (source ids) and the values (what the patient or order said) behind a finding."""

    sources: tuple[str, ...]
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "values": dict(self.values)}


@dataclass(frozen=True)
class Suggestion:
    """What to change, in plain words (``says``) and as an action on a field of the command
    (``action``, e.g. {"set": "dose", "to": "500 mcg"}; no "to" when the person must supply the
    value), for each door to offer in its own terms."""

    says: str
    action: Mapping[str, str | tuple[str, ...]] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"says": self.says}
        if self.action is not None:
            out["action"] = {
                k: v if isinstance(v, str) else list(v) for k, v in self.action.items()
            }
        return out


def suggest(says: str, **action: str | tuple[str, ...]) -> Suggestion:
    """A suggestion; the action (if any) is frozen."""
    return Suggestion(says, MappingProxyType(action) if action else None)


@dataclass(frozen=True)
class Finding:
    code: str
    level: Level
    message: str
    basis: Basis
    conflict: str | None = None
    suggestion: Suggestion | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "level": self.level.value,
            "message": self.message,
            "basis": self.basis.to_dict(),
        }
        if self.conflict is not None:
            out["conflict"] = self.conflict
        if self.suggestion is not None:
            out["suggestion"] = self.suggestion.to_dict()
        return out


def finding(
    code: str,
    level: Level,
    message: str,
    sources: Iterable[str],
    values: Mapping[str, object] | None = None,
    conflict: str | None = None,
    suggestion: Suggestion | None = None,
) -> Finding:
    """Build a finding; values are shown as text exactly as they will be printed."""
    shown = {k: str(v) for k, v in (values or {}).items()}
    return Finding(
        code, level, message, Basis(tuple(sources), MappingProxyType(shown)), conflict, suggestion
    )


def distinct(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Each finding once: the first of each code and message, in their order (two checks that
    raise the same concern say it once)."""
    first: dict[tuple[str, str], Finding] = {}
    for f in findings:
        first.setdefault((f.code, f.message), f)
    return tuple(first.values())


def worst(findings: Iterable[Finding]) -> Level | None:
    """The loudest level among ``findings`` (None when there are none)."""
    levels = [f.level for f in findings]
    return max(levels, key=lambda lv: lv.rank) if levels else None


class Outcome(StrEnum):
    """What a set of findings means for the order: go ahead, or stop (each door says it its way:
    the command line exits 0 or 3)."""

    DONE = "done"
    STOPPED = "stopped"


def outcome(
    findings: Iterable[Finding],
    *,
    interrupt_on: Level = Level.STOP,
    bypassed: Collection[str] = (),
) -> Outcome:
    """STOPPED when a finding at ``interrupt_on`` or louder stands (a stop whose code is in
    ``bypassed`` does not), else DONE."""
    for f in findings:
        if f.level.rank >= interrupt_on.rank and not (f.level is Level.STOP and f.code in bypassed):
            return Outcome.STOPPED
    return Outcome.DONE
