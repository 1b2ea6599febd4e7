"""The one error tree of b12.

    B12Error
     +-- KnowledgeError                 the knowledge files are wrong (a reviewer must fix them)
     |    +-- KnowledgeSchemaError      (ValueError) a field breaks the schema: file, entry, field
     |    +-- KnowledgeReferenceError   (ValueError) an id points at nothing: file, entry, field, id
     |    +-- KnowledgeIntegrityError   a file changed since the manifest was written
     +-- InputError                     (ValueError) what a user wrote could not be understood
          +-- UnknownNameError          (LookupError too) a name or id nobody knows, with choices

Every error carries the values that caused it as attributes, and its message says what to
write instead. The command line maps InputError to exit code 2.
"""

from __future__ import annotations

from collections.abc import Sequence


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
    """What the user wrote could not be understood; the message says what to write instead."""


class UnknownNameError(InputError, LookupError):
    """A name or id that the knowledge base does not know."""

    def __init__(self, kind: str, name: str, choices: Sequence[str], suggestions: Sequence[str] = ()) -> None:
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
        super().__init__(f"unknown {kind} {name!r}: {hint}")

    def __str__(self) -> str:  # LookupError would otherwise quote the message
        return str(self.args[0])
