"""b12: plan, check and record vitamin B12 injection therapy, with every number traced to its source.

The public API is listed in ``__all__``; everything else is private. Heavy parts load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from b12.errors import (
    B12Error,
    InputError,
    KnowledgeError,
    KnowledgeIntegrityError,
    KnowledgeReferenceError,
    KnowledgeSchemaError,
    UnknownNameError,
)

if TYPE_CHECKING:
    from b12.domain.findings import Basis, Finding, Level
    from b12.domain.screening import ScreeningPolicy
    from b12.knowledge.loader import Knowledge, load_knowledge
    from b12.services.intake import estimate_intake
    from b12.services.labs import interpret_labs
    from b12.services.planning import plan
    from b12.services.screening import Screening, check

__version__ = "0.1.0"

_LAZY = {
    "Knowledge": "b12.knowledge.loader",
    "load_knowledge": "b12.knowledge.loader",
    "Finding": "b12.domain.findings",
    "Basis": "b12.domain.findings",
    "Level": "b12.domain.findings",
    "plan": "b12.services.planning",
    "interpret_labs": "b12.services.labs",
    "estimate_intake": "b12.services.intake",
    "check": "b12.services.screening",
    "Screening": "b12.services.screening",
    "ScreeningPolicy": "b12.domain.screening",
}

__all__ = [
    "B12Error",
    "Basis",
    "Finding",
    "InputError",
    "Knowledge",
    "KnowledgeError",
    "KnowledgeIntegrityError",
    "KnowledgeReferenceError",
    "KnowledgeSchemaError",
    "Level",
    "Screening",
    "ScreeningPolicy",
    "UnknownNameError",
    "__version__",
    "check",
    "estimate_intake",
    "interpret_labs",
    "load_knowledge",
    "plan",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'b12' has no attribute {name!r}")
