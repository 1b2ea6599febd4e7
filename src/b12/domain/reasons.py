"""The reason a person gives for an override, a bypass, a correction, a stop or a missed dose.

A reason is read later by someone who was not there (an auditor, the next nurse, a court), so it
has to say something: a dot, a dash, one letter or whitespace is refused. One check serves every
place a reason is taken, so every command refuses the same things with the same kind of message.
"""

from __future__ import annotations

from b12.errors import InputError

#: The fewest letters or digits a reason may hold ("DKA" passes; "x", "ok", "..." do not).
MIN_REASON_CHARACTERS = 3


class ReasonError(InputError):
    """A reason that says nothing: empty, whitespace, punctuation or too short."""

    def __init__(self, field: str, what: str, text: str | None, example: str) -> None:
        self.what = what
        self.text = text
        self.example = example
        got = "nothing" if not text else repr(text)
        super().__init__(
            f"the reason for {what} must say why, in words (at least {MIN_REASON_CHARACTERS} "
            f"letters or digits), e.g. {example!r}; got {got}",
            field=field,
        )


def meaningful_reason(text: str | None, field: str, what: str, example: str) -> str:
    """``text`` stripped when it says something; else a ReasonError about ``field`` (the command's
    field, e.g. "override_reason"), saying what the reason is for (``what``, e.g. "the override")
    and showing ``example`` (a reason in words, e.g. "in hospital")."""
    stripped = (text or "").strip()
    if sum(ch.isalnum() for ch in stripped) < MIN_REASON_CHARACTERS:
        raise ReasonError(field, what, text, example)
    return stripped
