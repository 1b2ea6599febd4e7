"""The knowledge base: schema, loader and the frozen ``Knowledge`` it returns.

Imported lazily: ``import b12.knowledge`` alone loads no validation library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from b12.knowledge.base import Knowledge
    from b12.knowledge.loader import load_knowledge

__all__ = ["Knowledge", "load_knowledge"]


def __getattr__(name: str) -> Any:
    if name == "Knowledge":
        from b12.knowledge.base import Knowledge

        return Knowledge
    if name == "load_knowledge":
        from b12.knowledge.loader import load_knowledge

        return load_knowledge
    raise AttributeError(f"module 'b12.knowledge' has no attribute {name!r}")
