"""The few statements every write sends, run on the driver's cursor with SQLAlchemy's own rendering.

A write (a record row, its audit link) is a handful of statements whose text never changes. Sent
through ``Connection.execute`` each one pays SQLAlchemy's per-statement machinery (an execution
context, a result object, for ``RETURNING *`` a result map built anew each time because the
columns are unknown until the row comes back): most of a durable write's time on SQLite was
there, not in the database. Here each statement is compiled once per dialect (``prepare``): the
text as SQLAlchemy renders it for that dialect and driver, the order of its parameters, the
values of its fixed parameters (``LIMIT 1``, a sequence's name) and, per parameter, the bind
processor of its column's type for that dialect (``TypeEngine.dialect_impl(d).bind_processor(d)``),
so that the driver receives exactly the values ``Connection.execute`` would send (a test compares
them, table by table, on both databases). ``run`` executes it on the connection's DBAPI cursor,
inside the connection's transaction (begun first, as SQLAlchemy would: on SQLite with BEGIN
IMMEDIATE, see ``database.make_engine``), tells the connection's ``before_cursor_execute``
listeners, and turns a driver error into SQLAlchemy's exception of the same kind
(IntegrityError, OperationalError ...).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Prepared:
    """One statement compiled for one dialect, with the caller's parameters ``keys``."""

    sql: str
    #: Per parameter, in the driver's order: its name for the driver (named styles), the caller's
    #: key that gives its value (None: a fixed value), the fixed value, the type's bind processor.
    slots: tuple[tuple[str, str | None, Any, Processor], ...]
    positional: bool
    #: Read from ``slots`` once: the values taken by key at once (None: some value is fixed), and
    #: per parameter with a bind processor, its place, the processor, and whether the processor
    #: gives None for None (a NULL is then sent as it is, without a call).
    _get: Callable[[Mapping[str, Any]], Any] | None = field(init=False, repr=False, compare=False)
    _processed: tuple[tuple[int, Callable[[Any], Any], bool], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        keys = [key for _name, key, _value, _process in self.slots]
        get = None
        if None not in keys and keys:
            # itemgetter of one key gives the value itself, of several a tuple
            get = itemgetter(*keys) if len(keys) > 1 else lambda values: (values[keys[0]],)
        processed = tuple(
            (i, process, _keeps_null(process))
            for i, (_name, _key, _value, process) in enumerate(self.slots)
            if process is not None
        )
        object.__setattr__(self, "_get", get)
        object.__setattr__(self, "_processed", processed)

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """What the driver is given for ``values`` (the caller's, by key)."""
        if self._get is None:
            got = [value if key is None else values[key] for _n, key, value, _p in self.slots]
        else:
            got = list(self._get(values))
        for i, process, keeps_null in self._processed:
            value = got[i]
            if value is not None or not keeps_null:
                got[i] = process(value)
        if self.positional:
            return tuple(got)
        return dict(zip([name for name, _k, _v, _p in self.slots], got, strict=True))


def _keeps_null(process: Callable[[Any], Any]) -> bool:
    """Whether a bind processor sends None as None (SQL NULL), so that it need not be called for it."""
    try:
        return process(None) is None
    except Exception:  # a processor that refuses None is called for it
        return False


_PREPARED: weakref.WeakKeyDictionary[Dialect, dict[tuple[Any, tuple[str, ...]], Prepared]] = (
    weakref.WeakKeyDictionary()
)


def prepare(statement: ClauseElement, dialect: Dialect, keys: Sequence[str]) -> Prepared:
    """``statement`` compiled for ``dialect``, its values to be given by ``keys`` (for an INSERT:
    the columns written, in any order); compiled once per dialect, statement and keys."""
    cache = _PREPARED.get(dialect)
    if cache is None:
        cache = _PREPARED[dialect] = {}
    cache_key = (statement, tuple(keys))
    found = cache.get(cache_key)
    if found is not None:
        return found
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    params = compiled.construct_params(dict.fromkeys(keys), escape_names=False)
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    escaped = compiled.escaped_bind_names
    order = compiled.positiontup if compiled.positional else list(params)
    assert order is not None
    given = set(keys)
    slots = []
    for name in order:
        bind = by_name[name]
        key = bind.key if bind.key in given else None
        if key is None and bind.required:
            raise ValueError(f"{name}: a parameter of the statement not among {sorted(given)}")
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        fixed = None if key is not None else params[name]
        slots.append((escaped.get(name, name), key, fixed, process))
    prepared = Prepared(compiled.string, tuple(slots), bool(compiled.positional))
    cache[cache_key] = prepared
    return prepared


def begin(connection: Connection) -> None:
    """Begin the connection's transaction unless it has one (SQLite: BEGIN IMMEDIATE, the write
    lock; see ``database.make_engine``)."""
    if not connection.in_transaction():
        connection.begin()


def run(connection: Connection, prepared: Prepared, values: Mapping[str, Any]) -> Any:
    """Execute ``prepared`` with ``values`` on the connection's DBAPI cursor, in its transaction;
    the cursor, to fetch what the statement returns."""
    if not connection.in_transaction():
        connection.begin()
    parameters = prepared.parameters(values)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if connection._has_events or connection.engine._has_events:  # as Connection.execute checks
        connection.dispatch.before_cursor_execute(
            connection, cursor, prepared.sql, parameters, None, False
        )
    try:
        cursor.execute(prepared.sql, parameters)
    except connection.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            prepared.sql, parameters, error, connection.dialect.loaded_dbapi.Error,
            dialect=connection.dialect,
        ) from error  # fmt: skip
    return cursor
