"""How the command line names the fields of b12's commands: one table, field -> option.

Services and the domain name the field an error or a suggestion is about ("override_reason");
the command line shows it as the option a person types (``--override``), or, where the command
takes the field as an argument, as the argument's name (the DOSE of `b12 dose`, where `b12 give`
has ``--dose``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

#: The option that sets each field (a test keeps it complete for every field services name).
OPTION_OF_FIELD: Mapping[str, str] = {
    "administration": "--administration",
    "age": "--age-years",
    "age_months": "--age-months",
    "assume_iu_is_mcg": "--assume-iu-is-mcg",
    "at": "--at",
    "baseline_b12": "--b12",
    "bypass": "--bypass",
    "concentration": "--concentration",
    "description": "--description",
    "dose": "--dose",
    "expiry": "--expiry",
    "ics": "--ics",
    "indication": "--indication",
    "lot": "--lot",
    "medications": "--medication",
    "conditions": "--condition",
    "correct": "--correct",
    "url": "--url",
    "allergies": "--allergy",
    "mix": "--mix",
    "months": "--months",
    "override_reason": "--override",
    "plot": "--plot",
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
    "ward": "--ward",
    "weight_kg": "--weight-kg",
    "who": "--who",
}

#: The command that lists what to choose from, by what an error says lists it (InputError.listed).
LISTED_BY: Mapping[str, str] = {
    "indications": "`b12 indications` lists them",
    "regimens": "`b12 regimens` lists them",
    "products": "`b12 products` lists them",
    "patients": "`b12 patient list` lists them; `b12 patient add` adds one",
}


def options_for(fields: Iterable[str], offered: Collection[str] | None = None) -> list[str]:
    """How the command names ``fields``, in order: its option, or its argument (``FIELD``);
    ``offered`` is what the command takes (options and argument names; None when not known, and
    then the option of the table). A field the command does not take is left out."""
    out: list[str] = []
    for name in fields:
        option = OPTION_OF_FIELD.get(name)
        if offered is None:
            shown = option
        else:
            shown = next((n for n in (option, name.upper()) if n and n in offered), None)
        if shown and shown not in out:
            out.append(shown)
    return out


#: Fields the command line takes as arguments (positional), never as options.
ARGUMENTS = frozenset({"patient", "readings", "foods", "kind", "record_id"})
