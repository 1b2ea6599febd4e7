"""How the command line names the fields of b12's commands: one table, field -> option.

Services and the domain name the field an error or a suggestion is about ("override_reason");
the command line shows it as the option a person types (``--override``). A field a command reads
as an argument (the DOSE of `b12 dose`, the readings of `b12 labs`) has no option there, and is
not named: the message quotes what was written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

#: The option that sets each field (a test keeps it complete for every field services name).
OPTION_OF_FIELD: Mapping[str, str] = {
    "age": "--age-years",
    "assume_iu_is_mcg": "--assume-iu-is-mcg",
    "at": "--at",
    "baseline_b12": "--b12",
    "bypass": "--bypass",
    "concentration": "--concentration",
    "description": "--description",
    "dose": "--dose",
    "expiry": "--expiry",
    "indication": "--indication",
    "medications": "--medication",
    "conditions": "--condition",
    "correct": "--correct",
    "allergies": "--allergy",
    "mix": "--mix",
    "months": "--months",
    "override_reason": "--override",
    "product": "--product",
    "ranges": "--range",
    "reason": "--reason",
    "regimen": "--regimen",
    "route": "--route",
    "severity": "--severity",
    "sex": "--sex",
    "site": "--site",
    "start": "--start",
    "substance": "--substance",
    "table": "--table",
    "weight_kg": "--weight-kg",
}


def options_for(fields: Iterable[str], offered: Collection[str] | None = None) -> list[str]:
    """The options that set ``fields``, in order, leaving out those the command does not offer
    (``offered``: its options; None when not known)."""
    out: list[str] = []
    for name in fields:
        option = OPTION_OF_FIELD.get(name)
        if option and option not in out and (offered is None or option in offered):
            out.append(option)
    return out


#: Fields the command line takes as arguments (positional), never as options.
ARGUMENTS = frozenset({"patient", "readings", "foods", "kind", "record_id"})
