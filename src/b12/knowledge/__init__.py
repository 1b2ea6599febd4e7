"""The knowledge base: schema, loader and the frozen ``Knowledge`` it returns."""

from b12.knowledge.loader import Knowledge, load_knowledge

__all__ = ["Knowledge", "load_knowledge"]
