"""Previews: a use case run to show what it would record (a give's five rights, a plan before it is
signed), on a unit of work whose commits are not kept and which is rolled back at the end."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from b12.services.ports import UnitOfWork, UnitOfWorkFactory


class DryRun:
    """A unit of work whose commits are not kept: a use case runs on it to show what it would
    record (the give's five rights, the plan's findings) and everything is rolled back."""

    def __init__(self, inner: UnitOfWork) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._inner.__exit__(kind, exc, tb)  # leaving without a commit rolls back

    def commit(self) -> None:
        """Kept back: nothing a dry run does is committed."""


def preview(
    factory: UnitOfWorkFactory, use_case: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """What ``use_case`` (one decorated with ``opens_unit_of_work``) returns when called with
    ``args``, run on a dry unit of work from ``factory``: nothing it writes is kept."""
    body = inspect.unwrap(use_case)
    with DryRun(factory()) as dry:
        return body(dry, *args, **kwargs)
