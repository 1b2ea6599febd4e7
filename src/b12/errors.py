"""The one error tree of b12.

    B12Error
     +-- KnowledgeError                 the knowledge files are wrong (a reviewer must fix them)
     |    +-- KnowledgeSchemaError      (ValueError) a field breaks the schema: file, entry, field
     |    +-- KnowledgeReferenceError   (ValueError) an id points at nothing: file, entry, field, id
     |    +-- KnowledgeIntegrityError   a file changed since the manifest was written
     +-- InputError                     (ValueError) what a user wrote could not be understood
     |    +-- UnknownNameError          (LookupError too) a name or id nobody knows, with choices
     |    +-- QuantityInputError        a dose, volume or concentration as written: kind, text
     |    |    +-- EmptyQuantityError        nothing written
     |    |    +-- MissingNumberError        no number ('mcg')
     |    |    +-- UnreadableQuantityError   not a number then a unit ('mcg 500', '5.0.0 mg')
     |    |    +-- TooManyNumbersError       two numbers, a range, a space inside a number
     |    |    +-- AmbiguousNumberError      a decimal comma, or a dot that may group thousands
     |    |    +-- DoseUnitError             the unit is missing or not usable: unit
     |    |    |    +-- MissingUnitError     no unit ('500')
     |    |    |    +-- UnknownUnitError     a unit b12 does not read ('500 gr')
     |    |    |    +-- WrongUnitKindError   a volume where a mass belongs, or the reverse
     |    |    |    +-- IUNotAUnitError      'IU' or 'units': B12 has no international unit
     |    |    +-- QuantityRangeError        a number no dose, volume or concentration can have
     |    |         +-- NegativeQuantityError
     |    |         +-- ZeroQuantityError
     |    |         +-- NotFiniteError       NaN, Infinity
     |    |         +-- TooPreciseError      more than 6 decimal places
     |    |         +-- TooLargeError        above 10 g, 1,000 mL or 10 g/mL
     |    +-- UnmeasurableVolumeError   no standard syringe measures the volume: volume_ml
     +-- QuantityTypeError              (TypeError) code passed a float or non-number as a quantity
     +-- QuantityValueError             (ValueError) code built an impossible quantity (NaN, < 0)
 +-- RecordVersionError             the record's schema is not the one b12 needs: url, current, head
 +-- RecordUnavailableError         the record cannot be opened (no such file, server, database): url
 +-- InputError
      +-- RecordUrlError            the record's URL cannot be read (`postgres://`, unknown kind): url
      +-- AlreadyRecordedError      (one dose once) another writer recorded it first: what, by, at

Every error carries the values that caused it as attributes, and its message says what to
write instead. An input error names the field of the command it is about (``field``, e.g.
"override_reason"), never a command-line option: each door (the command line, a form, a FHIR
path) shows the field in its own terms. ``ERROR_STATUS`` gives every error its exit code and HTTP
status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class B12Error(Exception):
    """Base of every error b12 raises on purpose."""


class KnowledgeError(B12Error):
    """The knowledge base cannot be used as it is."""


class KnowledgeSchemaError(KnowledgeError, ValueError):
    """A knowledge file breaks its schema."""

    def __init__(self, file: str, entry: str, field: str, problem: str) -> None:
        self.file = file
        self.entry = entry
        self.field = field
        self.problem = problem
        super().__init__(f"{file}: entry {entry!r}, field {field!r}: {problem}")


class KnowledgeReferenceError(KnowledgeError, ValueError):
    """A knowledge entry refers to an id that does not exist."""

    def __init__(self, file: str, entry: str, field: str, ref: str, known: Sequence[str]) -> None:
        self.file = file
        self.entry = entry
        self.field = field
        self.ref = ref
        self.known = tuple(known)
        hint = f"; close ids: {', '.join(self.known)}" if self.known else ""
        super().__init__(f"{file}: entry {entry!r}, field {field!r}: unknown id {ref!r}{hint}")


class KnowledgeIntegrityError(KnowledgeError):
    """A knowledge file no longer matches the hash its manifest recorded."""

    def __init__(self, file: str, expected: str, actual: str) -> None:
        self.file = file
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{file} changed since the manifest was written (sha256 {actual[:12]}, "
            f"manifest says {expected[:12]}); review the change, then run `make kb-manifest`"
        )


class InputError(B12Error, ValueError):
    """What the user wrote could not be understood; the message says what to write instead.

    ``field`` is the field of the command the error is about (None when it is about no one field);
    ``alternatives`` are other fields whose value would settle it too; ``listed``, what lists the
    values to choose from ("products", "indications", "regimens", "patients"), which each door
    points to its own way (the command line names its command).
    """

    def __init__(
        self,
        *args: object,
        field: str | None = None,
        alternatives: Sequence[str] = (),
        listed: str | None = None,
    ) -> None:
        super().__init__(*args)
        self.field = field
        self.alternatives = tuple(alternatives)
        self.listed = listed

    @property
    def fields(self) -> tuple[str, ...]:
        """The field, then the alternatives: every field a fix may touch."""
        return (self.field, *self.alternatives) if self.field else self.alternatives


class about:
    """Name ``field`` on an input error raised inside that names no field yet.

    A class rather than a generator context manager: it wraps every reading of an order, and
    costs a third as much (a dose is read on every call of the in-process dose check)."""

    __slots__ = ("field",)

    def __init__(self, field: str) -> None:
        self.field = field

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if isinstance(error, InputError) and error.field is None:
            error.field = self.field  # and the error goes on


class UnknownNameError(InputError, LookupError):
    """A name or id that the knowledge base does not know."""

    def __init__(
        self,
        kind: str,
        name: str,
        choices: Sequence[str],
        suggestions: Sequence[str] = (),
        *,
        field: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.choices = tuple(choices)
        self.suggestions = tuple(suggestions)
        if self.suggestions:
            hint = f"did you mean {', '.join(self.suggestions)}?"
        else:
            shown = ", ".join(self.choices[:40])
            more = f" (and {len(self.choices) - 40} more)" if len(self.choices) > 40 else ""
            hint = f"write one of: {shown}{more}"
        super().__init__(f"unknown {kind} {name!r}: {hint}", field=field)

    def __str__(self) -> str:  # LookupError would otherwise quote the message
        return str(self.args[0])


class QuantityInputError(InputError):
    """A dose, volume or concentration as written could not be read (``field``: the kind, unless
    the command names its own)."""

    def __init__(
        self, kind: str, text: str, problem: str, instead: str, *, field: str | None = None
    ) -> None:
        self.kind = kind
        self.text = text
        self.problem = problem
        self.instead = instead
        super().__init__(f"{kind} {text!r}: {problem}; {instead}", field=field or kind)


class EmptyQuantityError(QuantityInputError):
    """Nothing was written."""


class MissingNumberError(QuantityInputError):
    """A unit or words without a number."""


class UnreadableQuantityError(QuantityInputError):
    """Not a number followed by a unit."""


class TooManyNumbersError(QuantityInputError):
    """More than one number: a range, two doses, or a space inside a number."""


class AmbiguousNumberError(QuantityInputError):
    """A number that reads two ways: a decimal comma, or a dot that may group thousands."""


class DoseUnitError(QuantityInputError):
    """The unit of a dose, volume or concentration is missing or cannot be used."""

    def __init__(
        self,
        kind: str,
        text: str,
        unit: str,
        problem: str,
        instead: str,
        *,
        field: str | None = None,
    ) -> None:
        self.unit = unit
        super().__init__(kind, text, problem, instead, field=field)


class MissingUnitError(DoseUnitError):
    """A number without a unit."""


class UnknownUnitError(DoseUnitError):
    """A unit b12 does not read."""


class WrongUnitKindError(DoseUnitError):
    """A unit of the wrong kind: a volume where a mass belongs, a ratio where a dose belongs."""


class IUNotAUnitError(DoseUnitError):
    """'IU' or 'units' for vitamin B12, which has no international unit."""


class QuantityRangeError(QuantityInputError):
    """A number that cannot be a dose, volume or concentration."""


class NegativeQuantityError(QuantityRangeError):
    """A negative number."""


class ZeroQuantityError(QuantityRangeError):
    """Zero."""


class NotFiniteError(QuantityRangeError):
    """NaN or Infinity."""


class TooPreciseError(QuantityRangeError):
    """More decimal places than any syringe or balance resolves."""


class TooLargeError(QuantityRangeError):
    """Above the largest value b12 reads (10 g, 1,000 mL, 10 g/mL)."""


class UnmeasurableVolumeError(InputError):
    """No standard syringe measures this volume: too large, or below half a graduation."""

    def __init__(
        self, volume_ml: str, problem: str, instead: str, *, field: str | None = None
    ) -> None:
        self.volume_ml = volume_ml
        self.problem = problem
        self.instead = instead
        super().__init__(f"{volume_ml} mL: {problem}; {instead}", field=field)


class QuantityTypeError(B12Error, TypeError):
    """Code passed a binary float (or another non-number) where an exact quantity belongs."""

    def __init__(self, what: str, value: object) -> None:
        self.what = what
        self.value = value
        if isinstance(value, float):
            problem = f"got the binary float {value!r}, which is not exact"
        else:
            problem = f"got {type(value).__name__} {value!r}"
        super().__init__(f"{what}: {problem}; pass a Decimal or an int (Decimal('0.5'), 500)")


class QuantityValueError(B12Error, ValueError):
    """Code built an impossible quantity: NaN, infinite, negative or zero where it cannot be."""

    def __init__(self, what: str, value: object, problem: str) -> None:
        self.what = what
        self.value = value
        super().__init__(f"{what}: {value!r} {problem}")


class RecordVersionError(B12Error):
    """The record is empty or at an older schema revision: `b12 db upgrade` brings it up to date."""

    def __init__(self, url: str, current: str | None, head: str) -> None:
        self.url = url
        self.current = current
        self.head = head
        found = "has no b12 tables yet" if current is None else f"is at revision {current}"
        super().__init__(
            f"the record {url} {found}, b12 needs revision {head}: run `b12 db upgrade` first"
        )


class RecordUnavailableError(B12Error):
    """The record cannot be opened: no such file or folder, server, port or database. ``url`` is
    shown without its password, and so is the database's own reason."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(problem)


class RecordUrlError(InputError):
    """The record's URL (--db, B12_DATABASE_URL) names no kind of database b12 can open."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        super().__init__(f"the record's URL {url}: {problem}")


class AlreadyRecordedError(InputError):
    """What was to be recorded is in the record already: another writer recorded it first (one
    patient per code, one administration per planned dose). ``by`` and ``at`` say who and when."""

    def __init__(self, what: str, by: str, at: str, advice: str, field: str | None = None) -> None:
        self.what = what
        self.by = by
        self.at = at
        super().__init__(f"{what} already recorded by {by} at {at}: {advice}", field=field)


class AuditKeyError(InputError):
    """The audit key (B12_AUDIT_KEY_FILE) is missing, unreadable, not a key, or open to others."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="audit_key_file")


@dataclass(frozen=True)
class ErrorStatus:
    """How each door reports an error: the command line's exit code, the web's HTTP status."""

    exit_code: int
    http_status: int


_INPUT = ErrorStatus(2, 422)  # the user can fix what they wrote
_FAULT = ErrorStatus(1, 500)  # the knowledge or the code is wrong: a reviewer or developer fixes it

#: Every error class of this module, with its status (a test keeps the table complete).
#: Subclasses elsewhere take the status of their nearest listed ancestor.
ERROR_STATUS: Mapping[type[B12Error], ErrorStatus] = {
    B12Error: _FAULT,
    KnowledgeError: _FAULT,
    KnowledgeSchemaError: _FAULT,
    KnowledgeReferenceError: _FAULT,
    KnowledgeIntegrityError: _FAULT,
    InputError: _INPUT,
    UnknownNameError: ErrorStatus(2, 404),
    QuantityInputError: _INPUT,
    EmptyQuantityError: _INPUT,
    MissingNumberError: _INPUT,
    UnreadableQuantityError: _INPUT,
    TooManyNumbersError: _INPUT,
    AmbiguousNumberError: _INPUT,
    DoseUnitError: _INPUT,
    MissingUnitError: _INPUT,
    UnknownUnitError: _INPUT,
    WrongUnitKindError: _INPUT,
    IUNotAUnitError: _INPUT,
    QuantityRangeError: _INPUT,
    NegativeQuantityError: _INPUT,
    ZeroQuantityError: _INPUT,
    NotFiniteError: _INPUT,
    TooPreciseError: _INPUT,
    TooLargeError: _INPUT,
    UnmeasurableVolumeError: _INPUT,
    QuantityTypeError: _FAULT,
    QuantityValueError: _FAULT,
    # the record's schema is behind the code: an operator runs `b12 db upgrade`; nothing to retry
    RecordVersionError: ErrorStatus(1, 503),
    # no such file, folder, server or database: an operator fixes the URL or the server
    RecordUnavailableError: ErrorStatus(1, 503),
    RecordUrlError: _INPUT,
    # recorded already, by someone else: nothing to retry, read the record
    AlreadyRecordedError: ErrorStatus(2, 409),
    # the operator gives the key's file (or `b12 db upgrade` creates it)
    AuditKeyError: _INPUT,
}


def status_of(error: B12Error | type[B12Error]) -> ErrorStatus:
    """The status of ``error``: its own row, else that of the nearest ancestor in its MRO."""
    kind = error if isinstance(error, type) else type(error)
    for cls in kind.__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return ERROR_STATUS[B12Error]
